// A run as people read it (GET /v1/runs/:id): status, steps with every attempt (and the
// input it was called with), their outputs, the plan's edges, compensations, the run's
// output, cost, estimates and times — folded from the run's events alone.

import type { PlanEstimate } from '../domain/estimate.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { canonicalHash, canonicalJson, sha256Hex } from '../domain/hashing.ts';
import { normalizedSteps } from '../domain/plan/graph.ts';
import type { RunStatus } from '../domain/run/status.ts';
import { statusAfter } from '../domain/run/status.ts';

export interface AttemptView {
  attempt: number;
  outcome: 'running' | 'succeeded' | 'failed';
  errorCode: string | null;
  latencyMs: number | null;
  costMicros: number;
  startedAt: string;
  /** v2 plans: the resolved input as recorded (a large one: only its hash and a truncated copy). */
  input?: { value?: unknown; hash: string; truncated?: string };
}

/** A JSON value shown in full up to MAX_SHOWN_CHARS, else as its hash and a truncated copy. */
export interface ShownValue {
  value?: unknown;
  hash: string;
  truncated?: string;
}

export interface StepView {
  index: number;
  id: string;
  dependsOn: string[];
  skill: string;
  status:
    | 'pending'
    | 'running'
    | 'waiting_approval'
    | 'waiting_recovery'
    | 'retrying'
    | 'succeeded'
    | 'failed'
    | 'skipped'
    | 'compensating'
    | 'compensated'
    | 'compensation_failed';
  attempts: AttemptView[];
  output: ShownValue | null;
  reason: string | null;
  /** The compensation's attempts, when it ran. */
  compensation: { skill: string; attempts: AttemptView[] } | null;
}

export interface RunDetail {
  runId: string;
  tenantId: string;
  agentId: string;
  status: RunStatus;
  steps: StepView[];
  /** The plan's edges, dependency → dependent, by step id. */
  edges: Array<{ from: string; to: string }>;
  /** The plan's `output`, resolved, once the run has succeeded. */
  output: ShownValue | null;
  compensations: Array<{ stepIndex: number; outcome: 'succeeded' | 'failed' }>;
  /** Approvals asked for and not yet granted, rejected, expired or closed. */
  pendingApprovalIds: string[];
  costMicros: number;
  estimate: { v1: PlanEstimate; v2: PlanEstimate } | null;
  reason: string | null;
  parentRunId: string | null;
  children: ChildView[];
  recoveries: RecoveryView[];
  createdAt: string;
  updatedAt: string;
}

/** A recovery suggested for a failed attempt, and what became of it. */
export interface RecoveryView {
  recoveryId: string;
  stepIndex: number;
  attempt: number;
  errorCode: string;
  mode: string;
  params: Record<string, unknown>;
  /** What the step's next call changes if it is taken (model, maxTokens, skill). */
  change: Record<string, unknown>;
  confidence: number;
  automatic: boolean;
  /** `closed`: the run ended before anyone decided it. */
  status: 'pending' | 'accepted' | 'rejected' | 'applied' | 'closed';
  decidedBy: string | null;
  suggestedAt: string;
  decidedAt: string | null;
}

export interface ChildView {
  runId: string;
  stepId: string;
  mode: 'invoke' | 'spawn';
  status: RunStatus;
  budgetMicros: number;
  chargedMicros: number | null;
}

/** Values up to this size (canonical JSON characters) are shown in full. */
export const MAX_SHOWN_CHARS = 16_384;
const TRUNCATED_CHARS = 2_048;

export function shownValue(value: unknown): ShownValue {
  const text = canonicalJson(value ?? null);
  const hash = sha256Hex(text);
  return text.length <= MAX_SHOWN_CHARS
    ? { value: value ?? null, hash }
    : { hash, truncated: text.slice(0, TRUNCATED_CHARS) };
}

function recordedInputOf(data: { input?: unknown; inputHash?: string; inputTruncated?: string }) {
  if (data.inputHash === undefined) return undefined;
  const input: AttemptView['input'] = { hash: data.inputHash };
  if (data.input !== undefined) input.value = data.input;
  if (data.inputTruncated !== undefined) input.truncated = data.inputTruncated;
  return input;
}

/** Applies an attempt change to the step's own attempts, or its compensation's. */
function withAttempts(
  step: StepView,
  compensation: boolean | undefined,
  change: (a: AttemptView[]) => AttemptView[],
) {
  if (compensation && step.compensation) {
    return { ...step, compensation: { ...step.compensation, attempts: change(step.compensation.attempts) } };
  }
  return { ...step, attempts: change(step.attempts) };
}

export function runDetailOf(events: readonly RunEvent[]): RunDetail | null {
  let detail: RunDetail | null = null;
  for (const event of events) detail = applyToDetail(detail, event);
  return detail;
}

function attemptOf(detail: RunDetail, stepIndex: number, attempt: number, compensation?: boolean) {
  const step = detail.steps[stepIndex];
  const attempts = compensation ? step?.compensation?.attempts : step?.attempts;
  return attempts?.find((a) => a.attempt === attempt);
}

function withStep(detail: RunDetail, stepIndex: number, change: (step: StepView) => StepView): RunDetail {
  return { ...detail, steps: detail.steps.map((step) => (step.index === stepIndex ? change(step) : step)) };
}

function withRecovery(detail: RunDetail, recoveryId: string, change: Partial<RecoveryView>): RunDetail {
  return {
    ...detail,
    recoveries: detail.recoveries.map((r) => (r.recoveryId === recoveryId ? { ...r, ...change } : r)),
  };
}

/** A recovery nobody decided before the run ended can no longer be. */
function withPendingRecoveriesClosed(detail: RunDetail): RunDetail {
  return {
    ...detail,
    recoveries: detail.recoveries.map((r) => (r.status === 'pending' ? { ...r, status: 'closed' } : r)),
  };
}

export function applyToDetail(detail: RunDetail | null, event: RunEvent): RunDetail | null {
  if (event.type === 'RunSubmitted') {
    const { runId, tenantId, agentId, plan, at } = event.data;
    const steps = normalizedSteps(plan.steps);
    return {
      runId,
      tenantId,
      agentId,
      status: 'queued',
      steps: steps.map((step, index) => ({
        index,
        id: step.id,
        dependsOn: step.dependsOn,
        skill: step.skill,
        status: 'pending',
        attempts: [],
        output: null,
        reason: null,
        compensation: null,
      })),
      edges: steps.flatMap((step) => step.dependsOn.map((from) => ({ from, to: step.id }))),
      output: null,
      compensations: [],
      pendingApprovalIds: [],
      costMicros: event.data.planningMicros ?? 0,
      estimate: null,
      reason: null,
      parentRunId: event.data.parent?.runId ?? null,
      children: [],
      recoveries: [],
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
      return withStep(
        { ...next, pendingApprovalIds: [...next.pendingApprovalIds, event.data.approvalId] },
        event.data.stepIndex,
        (s) => ({ ...s, status: 'waiting_approval' }),
      );
    case 'ApprovalGranted':
    case 'ApprovalRejected':
    case 'ApprovalExpired':
    case 'ApprovalClosed':
      return {
        ...next,
        pendingApprovalIds: next.pendingApprovalIds.filter((id) => id !== event.data.approvalId),
      };
    case 'SkillCallStarted': {
      const { stepIndex, attempt, compensation, skill } = event.data;
      const view: AttemptView = {
        attempt,
        outcome: 'running',
        errorCode: null,
        latencyMs: null,
        costMicros: 0,
        startedAt: at,
      };
      const input = recordedInputOf(event.data);
      if (input) view.input = input;
      return withStep(next, stepIndex, (s) => {
        const started = compensation
          ? { ...s, status: 'compensating' as const, compensation: s.compensation ?? { skill, attempts: [] } }
          : { ...s, status: 'running' as const };
        return withAttempts(started, compensation, (attempts) => [...attempts, view]);
      });
    }
    case 'SkillCallSucceeded':
    case 'SkillCallFailed': {
      const { stepIndex, attempt, latencyMs, compensation } = event.data;
      const errorCode = event.type === 'SkillCallFailed' ? event.data.errorCode : null;
      const outcome = event.type === 'SkillCallSucceeded' ? 'succeeded' : 'failed';
      return withStep(next, stepIndex, (s) =>
        withAttempts(s, compensation, (attempts) =>
          attempts.map((a) => (a.attempt === attempt ? { ...a, outcome, errorCode, latencyMs } : a)),
        ),
      );
    }
    case 'CostCharged': {
      const { stepIndex, attempt, chargedMicros, compensation } = event.data;
      if (!attemptOf(next, stepIndex, attempt, compensation)) return next;
      return {
        ...withStep(next, stepIndex, (s) =>
          withAttempts(s, compensation, (attempts) =>
            attempts.map((a) =>
              a.attempt === attempt ? { ...a, costMicros: a.costMicros + chargedMicros } : a,
            ),
          ),
        ),
        costMicros: next.costMicros + chargedMicros,
      };
    }
    case 'RetryScheduled':
      if (event.data.compensation) return next;
      return withStep(next, event.data.stepIndex, (s) => ({ ...s, status: 'retrying' }));
    case 'StepCompleted': {
      const { outcome, output, reason } = event.data;
      return withStep(next, event.data.stepIndex, (s) => ({
        ...s,
        status: outcome,
        output: outcome === 'succeeded' ? shownValue(output) : null,
        reason: reason ?? null,
      }));
    }
    case 'StepSkipped':
      return withStep(next, event.data.stepIndex, (s) => ({
        ...s,
        status: 'skipped',
        reason: event.data.reason,
      }));
    case 'StepCompensated':
      return withStep(next, event.data.stepIndex, (s) => ({
        ...s,
        status: event.data.outcome === 'succeeded' ? 'compensated' : 'compensation_failed',
      }));
    case 'ChildRunStarted': {
      const { childRunId, stepIndex, mode, budgetMicros } = event.data;
      const stepId = next.steps[stepIndex]?.id ?? String(stepIndex);
      const child: ChildView = {
        runId: childRunId,
        stepId,
        mode,
        status: 'running',
        budgetMicros,
        chargedMicros: null,
      };
      const started = { ...next, children: [...next.children, child] };
      return mode === 'invoke' ? withStep(started, stepIndex, (s) => ({ ...s, status: 'running' })) : started;
    }
    case 'ChildRunEnded': {
      const { childRunId, status, chargedMicros } = event.data;
      return {
        ...next,
        costMicros: next.costMicros + chargedMicros,
        children: next.children.map((c) => (c.runId === childRunId ? { ...c, status, chargedMicros } : c)),
      };
    }
    case 'RecoverySuggested': {
      const { recoveryId, stepIndex, attempt, errorCode, recovery, change, confidence, automatic } =
        event.data;
      const view: RecoveryView = {
        recoveryId,
        stepIndex,
        attempt,
        errorCode,
        mode: recovery.mode,
        params: recovery.params,
        change,
        confidence,
        automatic,
        status: 'pending',
        decidedBy: null,
        suggestedAt: at,
        decidedAt: null,
      };
      const suggested = { ...next, recoveries: [...next.recoveries, view] };
      return automatic
        ? suggested
        : withStep(suggested, stepIndex, (s) => ({ ...s, status: 'waiting_recovery' }));
    }
    case 'RecoveryDecided':
      return withRecovery(next, event.data.recoveryId, {
        status: event.data.decision,
        decidedBy: `${event.data.actor.role}:${event.data.actor.id}`,
        decidedAt: at,
      });
    case 'RecoveryApplied': {
      const applied = withRecovery(next, event.data.recoveryId, {
        status: 'applied',
        ...(event.data.by === 'automatic' ? { decidedBy: 'automatic', decidedAt: at } : {}),
      });
      const skill = event.data.change.skill;
      return withStep(applied, event.data.stepIndex, (s) => ({
        ...s,
        status: 'retrying',
        ...(typeof skill === 'string' ? { skill } : {}),
      }));
    }
    case 'RunCompleted':
      return {
        ...withPendingRecoveriesClosed(next),
        reason: event.data.reason,
        output: event.data.output === undefined ? null : shownValue(event.data.output),
        compensations: event.data.compensations ?? [],
      };
    default:
      return next;
  }
}

/** GET /v1/runs/:id/output: the plan's output in full (null until the run has succeeded), with its hash. */
export function runOutputOf(events: readonly RunEvent[]) {
  const submitted = events.find((e) => e.type === 'RunSubmitted');
  const completed = events.find((e) => e.type === 'RunCompleted');
  const status = runDetailOf(events)?.status ?? 'queued';
  const output = completed?.type === 'RunCompleted' ? (completed.data.output ?? null) : null;
  return {
    runId: submitted?.type === 'RunSubmitted' ? submitted.data.runId : null,
    status,
    output,
    hash: output === null ? null : canonicalHash(output),
  };
}
