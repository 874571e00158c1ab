// The run decider's state, folded from the run stream by `evolve`. It holds what `decide`
// needs and nothing it could compute from that: the recorded submission (plan, budget,
// seed, policy and price-table snapshots), where the run is (step, attempt, phase), the
// approvals, the charged total and whether a cancel was requested.
import type { Actor } from '../actor.ts';
import type { PlanEstimate } from '../estimate.ts';
import type { RunEvent, RunEventData } from '../events/run-events.ts';
import type { Micros } from '../money.ts';
import { type FinalRunStatus, type RunStatus, statusAfter } from './status.ts';

/** Where the current attempt stands. */
export type AttemptPhase =
  /** Next: EvaluateStep (after RetryScheduled, not before `retryDueAt`). */
  | { kind: 'evaluate'; retryDueAt?: string }
  /** Policy asked for an approval; nothing happens until it is decided or expires. */
  | { kind: 'awaiting_approval'; approvalId: string; expiresAt: string }
  /** Policy allowed (or an approval granted) this attempt: reserve budget, then StartAttempt. */
  | { kind: 'ready'; decisionId: string }
  /** SkillCallStarted: the call is out; RecordOutcome or RecordWorkerLost next. */
  | {
      kind: 'in_flight';
      reservationId: string;
      reservedMicros: Micros;
      estimateMicros: Micros;
      startedAt: string;
    }
  /** The outcome is recorded; the same command's next events move on. */
  | { kind: 'outcome_recorded' }
  | { kind: 'done' };

export interface ApprovalRecord {
  approvalId: string;
  stepIndex: number;
  attempt: number;
  expiresAt: string;
  status: 'pending' | 'granted' | 'rejected' | 'expired';
}

export interface StepResult {
  outcome: 'succeeded' | 'failed';
  attempts: number;
}

export interface SubmittedRun {
  status: RunStatus;
  submission: RunEventData<'RunSubmitted'>;
  estimates: { v1: PlanEstimate; v2: PlanEstimate } | null;
  stepIndex: number;
  attempt: number;
  phase: AttemptPhase;
  approvals: Record<string, ApprovalRecord>;
  /** Steps whose approval was granted: their retries do not ask again. */
  approvedSteps: number[];
  stepResults: StepResult[];
  chargedMicros: Micros;
  cancelRequest: { actor: Actor; reason: string; at: string } | null;
  completion: { status: FinalRunStatus; reason: string; at: string } | null;
}

export type RunState = { status: 'none' } | SubmittedRun;

export const initialState: RunState = { status: 'none' };

export function isSubmitted(state: RunState): state is SubmittedRun {
  return state.status !== 'none';
}

function applyToRun(run: SubmittedRun, event: RunEvent): SubmittedRun {
  switch (event.type) {
    case 'RunSubmitted':
      return run;
    case 'RunEstimated':
      return { ...run, estimates: { v1: event.data.v1, v2: event.data.v2 } };
    case 'PolicyDecided':
      return event.data.result === 'allow'
        ? { ...run, phase: { kind: 'ready', decisionId: event.data.decisionId } }
        : run;
    case 'ApprovalRequested': {
      const { approvalId, stepIndex, attempt, expiresAt } = event.data;
      return {
        ...run,
        phase: { kind: 'awaiting_approval', approvalId, expiresAt },
        approvals: {
          ...run.approvals,
          [approvalId]: { approvalId, stepIndex, attempt, expiresAt, status: 'pending' },
        },
      };
    }
    case 'ApprovalGranted':
      return {
        ...withApprovalStatus(run, event.data.approvalId, 'granted'),
        phase: { kind: 'ready', decisionId: event.data.approvalId },
        approvedSteps: [...run.approvedSteps, event.data.stepIndex],
      };
    case 'ApprovalRejected':
      return withApprovalStatus(run, event.data.approvalId, 'rejected');
    case 'ApprovalExpired':
      return withApprovalStatus(run, event.data.approvalId, 'expired');
    case 'SkillCallStarted': {
      const { reservationId, reservedMicros, estimateMicros, at } = event.data;
      return {
        ...run,
        phase: { kind: 'in_flight', reservationId, reservedMicros, estimateMicros, startedAt: at },
      };
    }
    case 'SkillCallSucceeded':
    case 'SkillCallFailed':
      return { ...run, phase: { kind: 'outcome_recorded' } };
    case 'CostCharged':
      return { ...run, chargedMicros: run.chargedMicros + event.data.chargedMicros };
    case 'RetryScheduled':
      return {
        ...run,
        attempt: event.data.nextAttempt,
        phase: { kind: 'evaluate', retryDueAt: event.data.dueAt },
      };
    case 'BudgetExceeded':
      return run;
    case 'StepCompleted': {
      const stepResults = [...run.stepResults];
      stepResults[event.data.stepIndex] = { outcome: event.data.outcome, attempts: event.data.attempts };
      return {
        ...run,
        stepResults,
        stepIndex: event.data.stepIndex + 1,
        attempt: 1,
        phase: { kind: 'evaluate' },
      };
    }
    case 'RunCancelRequested':
      return {
        ...run,
        cancelRequest: { actor: event.data.actor, reason: event.data.reason, at: event.data.at },
      };
    case 'RunCompleted':
      return {
        ...run,
        phase: { kind: 'done' },
        completion: { status: event.data.status, reason: event.data.reason, at: event.data.at },
      };
  }
}

function withApprovalStatus(
  run: SubmittedRun,
  approvalId: string,
  status: ApprovalRecord['status'],
): SubmittedRun {
  const approval = run.approvals[approvalId];
  if (!approval) return run;
  return { ...run, approvals: { ...run.approvals, [approvalId]: { ...approval, status } } };
}

export function evolve(state: RunState, event: RunEvent): RunState {
  if (!isSubmitted(state)) {
    if (event.type !== 'RunSubmitted') return state;
    return {
      status: 'queued',
      submission: event.data,
      estimates: null,
      stepIndex: 0,
      attempt: 1,
      phase: { kind: 'evaluate' },
      approvals: {},
      approvedSteps: [],
      stepResults: [],
      chargedMicros: 0,
      cancelRequest: null,
      completion: null,
    };
  }
  const next = applyToRun(state, event);
  return { ...next, status: statusAfter(state.status, event) ?? state.status };
}

export function foldRun(events: readonly RunEvent[], from: RunState = initialState): RunState {
  return events.reduce(evolve, from);
}
