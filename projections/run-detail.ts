// A run as people read it (GET /v1/runs/:id): status, steps with every attempt, cost,
// estimates and times — folded from the run's events alone.

import type { PlanEstimate } from '../domain/estimate.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import type { RunStatus } from '../domain/run/status.ts';
import { statusAfter } from '../domain/run/status.ts';

export interface AttemptView {
  attempt: number;
  outcome: 'running' | 'succeeded' | 'failed';
  errorCode: string | null;
  latencyMs: number | null;
  costMicros: number;
  startedAt: string;
}

export interface StepView {
  index: number;
  skill: string;
  status: 'pending' | 'running' | 'waiting_approval' | 'retrying' | 'succeeded' | 'failed';
  attempts: AttemptView[];
}

export interface RunDetail {
  runId: string;
  tenantId: string;
  agentId: string;
  status: RunStatus;
  steps: StepView[];
  costMicros: number;
  estimate: { v1: PlanEstimate; v2: PlanEstimate } | null;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export function runDetailOf(events: readonly RunEvent[]): RunDetail | null {
  let detail: RunDetail | null = null;
  for (const event of events) detail = applyToDetail(detail, event);
  return detail;
}

function attemptOf(detail: RunDetail, stepIndex: number, attempt: number): AttemptView | undefined {
  return detail.steps[stepIndex]?.attempts.find((a) => a.attempt === attempt);
}

function withStep(detail: RunDetail, stepIndex: number, change: (step: StepView) => StepView): RunDetail {
  return { ...detail, steps: detail.steps.map((step) => (step.index === stepIndex ? change(step) : step)) };
}

export function applyToDetail(detail: RunDetail | null, event: RunEvent): RunDetail | null {
  if (event.type === 'RunSubmitted') {
    const { runId, tenantId, agentId, plan, at } = event.data;
    return {
      runId,
      tenantId,
      agentId,
      status: 'queued',
      steps: plan.steps.map((step, index) => ({ index, skill: step.skill, status: 'pending', attempts: [] })),
      costMicros: 0,
      estimate: null,
      reason: null,
      createdAt: at,
      updatedAt: at,
    };
  }
  if (!detail) return null;
  const at = 'at' in event.data ? event.data.at : detail.updatedAt;
  const next: RunDetail = {
    ...detail,
    status: statusAfter(detail.status, event) ?? detail.status,
    updatedAt: at,
  };
  switch (event.type) {
    case 'RunEstimated':
      return { ...next, estimate: { v1: event.data.v1, v2: event.data.v2 } };
    case 'ApprovalRequested':
      return withStep(next, event.data.stepIndex, (s) => ({ ...s, status: 'waiting_approval' }));
    case 'SkillCallStarted': {
      const { stepIndex, attempt } = event.data;
      return withStep(next, stepIndex, (s) => ({
        ...s,
        status: 'running',
        attempts: [
          ...s.attempts,
          { attempt, outcome: 'running', errorCode: null, latencyMs: null, costMicros: 0, startedAt: at },
        ],
      }));
    }
    case 'SkillCallSucceeded':
    case 'SkillCallFailed': {
      const { stepIndex, attempt, latencyMs } = event.data;
      const errorCode = event.type === 'SkillCallFailed' ? event.data.errorCode : null;
      const outcome = event.type === 'SkillCallSucceeded' ? 'succeeded' : 'failed';
      return withStep(next, stepIndex, (s) => ({
        ...s,
        attempts: s.attempts.map((a) =>
          a.attempt === attempt ? { ...a, outcome, errorCode, latencyMs } : a,
        ),
      }));
    }
    case 'CostCharged': {
      const { stepIndex, attempt, chargedMicros } = event.data;
      if (!attemptOf(next, stepIndex, attempt)) return next;
      return {
        ...withStep(next, stepIndex, (s) => ({
          ...s,
          attempts: s.attempts.map((a) =>
            a.attempt === attempt ? { ...a, costMicros: a.costMicros + chargedMicros } : a,
          ),
        })),
        costMicros: next.costMicros + chargedMicros,
      };
    }
    case 'RetryScheduled':
      return withStep(next, event.data.stepIndex, (s) => ({ ...s, status: 'retrying' }));
    case 'StepCompleted':
      return withStep(next, event.data.stepIndex, (s) => ({ ...s, status: event.data.outcome }));
    case 'RunCompleted':
      return { ...next, reason: event.data.reason };
    default:
      return next;
  }
}
