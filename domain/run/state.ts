// The run decider's state, folded from the run stream by `evolve`. It holds what `decide`
// needs and nothing it could compute from that: the recorded submission (plan, budget,
// seed, policy and price-table snapshots) and its graph, where every step is (status,
// attempt, phase, output), the approvals, the charged total, a failure that ends the run
// once nothing is in flight, the compensations and whether a cancel was requested.
//
// A step is `pending` until every step it depends on has ended, then `active` (its attempts
// run through the phases below), then `succeeded`, `failed` or `skipped`. A linear (v1)
// plan therefore has exactly one active step at a time, as it always had.
import { type Actor, type ActorRole, approverRoles } from '../actor.ts';
import type { ErrorCode } from '../errors.ts';
import type { PlanEstimate } from '../estimate.ts';
import type { RunEvent, RunEventData } from '../events/run-events.ts';
import type { Recovery } from '../failure-catalog.ts';
import type { Micros } from '../money.ts';
import { type PlanGraph, planGraph } from '../plan/graph.ts';
import { instantMs } from '../time.ts';
import { type FinalRunStatus, type RunStatus, statusAfter } from './status.ts';

/** Where an attempt stands. */
export type AttemptPhase =
  /** Next: EvaluateStep (after RetryScheduled, not before `retryDueAt`). */
  | { kind: 'evaluate'; retryDueAt?: string }
  /** Policy asked for an approval; nothing happens until it is decided or expires. */
  | { kind: 'awaiting_approval'; approvalId: string; expiresAt: string; escalatesAt?: string }
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
  /** A recovery was suggested for the failed attempt: nothing happens until it is decided. */
  | { kind: 'awaiting_recovery'; recoveryId: string }
  /** agent_invoke: the child run is out; RecordChildEnded next. */
  | { kind: 'awaiting_child'; childRunId: string }
  /** The outcome is recorded; the same command's next events move on. */
  | { kind: 'outcome_recorded' }
  | { kind: 'done' };

export type StepStatus = 'pending' | 'active' | 'succeeded' | 'failed' | 'skipped';

export interface StepRun {
  status: StepStatus;
  attempt: number;
  phase: AttemptPhase;
  /** An approval was granted for this step: its retries do not ask again. */
  approved: boolean;
  output?: unknown;
  /** Attempts it took, once ended. */
  attempts?: number;
  /** What applied recoveries changed in the step's call (model, maxTokens, skill). */
  change?: StepChange;
  /** Recoveries applied to this step. */
  recoveries: number;
  /** Attempts made before the last applied recovery: the retry policy counts from there. */
  retryBase: number;
  /** The latest failed attempt, as recorded and classified. */
  lastFailure?: LastFailure;
}

/** What a recovery changes in a step's call. */
export type StepChange = {
  model?: string;
  maxTokens?: number;
  skill?: string;
};

export interface LastFailure {
  errorCode: ErrorCode;
  message: string;
  retryAfterMs?: number;
  /** Whether it may be retried as it is: the catalog's word, else the taxonomy's. */
  retry: boolean;
}

/** A recovery suggested on the run, and where it stands. */
export interface RecoveryRecord {
  recoveryId: string;
  stepIndex: number;
  attempt: number;
  recovery: Recovery;
  change: StepChange;
  status: 'pending' | 'accepted' | 'rejected' | 'applied';
}

export interface ApprovalRecord {
  approvalId: string;
  stepIndex: number;
  attempt: number;
  expiresAt: string;
  status: 'pending' | 'granted' | 'rejected' | 'expired' | 'closed';
  /** Who may decide it now: narrowed by the policy until it is escalated. */
  approverRoles: readonly ActorRole[];
  escalatesAt?: string;
  escalated: boolean;
}

/** Why the run will end: set by a failed step (not continued) or a budget refusal. */
export interface RunFailure {
  status: FinalRunStatus;
  reason: string;
  errorCode: ErrorCode;
  stepIndex: number;
  /** The failed step asked for the completed steps to be compensated. */
  compensate: boolean;
}

/** The compensations under way once CompensationRequested is recorded. */
export interface Compensation {
  /** Steps to undo, in order; `current` indexes the one under way. */
  steps: number[];
  current: number;
  attempt: number;
  phase: AttemptPhase;
  results: Array<{ stepIndex: number; outcome: 'succeeded' | 'failed' }>;
  /** Attempts of the current compensation the emergency stop aborted: its retry policy does not count them. */
  retryBase: number;
}

/** A child run this run started, and what it holds of this run's budget until it ends. */
export interface ChildRecord {
  childRunId: string;
  stepIndex: number;
  mode: 'invoke' | 'spawn';
  budgetMicros: Micros;
  /** `running` until ChildRunEnded. */
  status: RunStatus;
  cancelRequested: boolean;
}

export interface SubmittedRun {
  status: RunStatus;
  submission: RunEventData<'RunSubmitted'>;
  graph: PlanGraph;
  /** Both estimates, and which one reservations rely on (v2 unless the drift breaker took it out). */
  estimates: { v1: PlanEstimate; v2: PlanEstimate; basis: 'v1' | 'v2' } | null;
  steps: StepRun[];
  /** Steps that succeeded, in the order they did: compensations run in reverse. */
  completionOrder: number[];
  approvals: Record<string, ApprovalRecord>;
  chargedMicros: Micros;
  failure: RunFailure | null;
  compensation: Compensation | null;
  cancelRequest: { actor: Actor; reason: string; at: string } | null;
  completion: { status: FinalRunStatus; reason: string; at: string } | null;
  /** Child runs started by agent_invoke / agent_spawn steps, by child run id. */
  children: Record<string, ChildRecord>;
  /** Recoveries suggested for failed attempts, by recovery id. */
  recoveries: Record<string, RecoveryRecord>;
  /** An emergency stop holds the run (RunPaused, until RunResumed): no attempt starts. */
  paused: { stopTenantId: string | null; stoppedAt: string; at: string } | null;
}

export type RunState = { status: 'none' } | SubmittedRun;

export const initialState: RunState = { status: 'none' };

export function isSubmitted(state: RunState): state is SubmittedRun {
  return state.status !== 'none';
}

const terminal = (step: StepRun) =>
  step.status === 'succeeded' || step.status === 'failed' || step.status === 'skipped';

/** Activates every pending step whose dependencies have all ended. */
function activateReady(run: SubmittedRun, steps: StepRun[]): StepRun[] {
  return steps.map((step, index) =>
    step.status === 'pending' && run.graph.deps[index]!.every((dep) => terminal(steps[dep]!))
      ? { ...step, status: 'active' }
      : step,
  );
}

function withStep(run: SubmittedRun, stepIndex: number, change: Partial<StepRun>): SubmittedRun {
  const steps = [...run.steps];
  steps[stepIndex] = { ...steps[stepIndex]!, ...change };
  return { ...run, steps };
}

/** The phase change of an attempt event: the step's own, or the compensation's. */
function withPhase(
  run: SubmittedRun,
  data: { stepIndex: number; compensation?: true },
  phase: AttemptPhase,
  attempt?: number,
): SubmittedRun {
  if (data.compensation && run.compensation) {
    return {
      ...run,
      compensation: { ...run.compensation, phase, attempt: attempt ?? run.compensation.attempt },
    };
  }
  return withStep(run, data.stepIndex, attempt === undefined ? { phase } : { phase, attempt });
}

function applyToRun(run: SubmittedRun, event: RunEvent): SubmittedRun {
  switch (event.type) {
    case 'RunSubmitted':
      return run;
    case 'RunEstimated':
      return { ...run, estimates: { v1: event.data.v1, v2: event.data.v2, basis: event.data.basis } };
    case 'PolicyDecided':
      return event.data.result === 'allow'
        ? withStep(run, event.data.stepIndex, { phase: { kind: 'ready', decisionId: event.data.decisionId } })
        : run;
    case 'ApprovalRequested': {
      const { approvalId, stepIndex, attempt, expiresAt, escalatesAt } = event.data;
      const phase: AttemptPhase = { kind: 'awaiting_approval', approvalId, expiresAt };
      const record: ApprovalRecord = {
        approvalId,
        stepIndex,
        attempt,
        expiresAt,
        status: 'pending',
        approverRoles: event.data.approverRoles ?? approverRoles,
        escalated: false,
      };
      if (escalatesAt !== undefined) {
        phase.escalatesAt = escalatesAt;
        record.escalatesAt = escalatesAt;
      }
      return {
        ...withStep(run, stepIndex, { phase }),
        approvals: { ...run.approvals, [approvalId]: record },
      };
    }
    case 'ApprovalEscalated': {
      const approval = run.approvals[event.data.approvalId];
      if (!approval) return run;
      const escalated = { ...approval, escalated: true, approverRoles: event.data.approverRoles };
      return { ...run, approvals: { ...run.approvals, [approval.approvalId]: escalated } };
    }
    case 'ApprovalGranted':
      return withStep(withApprovalStatus(run, event.data.approvalId, 'granted'), event.data.stepIndex, {
        phase: { kind: 'ready', decisionId: event.data.approvalId },
        approved: true,
      });
    case 'ApprovalRejected':
      return withApprovalStatus(run, event.data.approvalId, 'rejected');
    case 'ApprovalExpired':
      return withApprovalStatus(run, event.data.approvalId, 'expired');
    case 'ApprovalClosed':
      return withApprovalStatus(run, event.data.approvalId, 'closed');
    case 'SkillCallStarted': {
      const { reservationId, reservedMicros, estimateMicros, at } = event.data;
      return withPhase(run, event.data, {
        kind: 'in_flight',
        reservationId,
        reservedMicros,
        estimateMicros,
        startedAt: at,
      });
    }
    case 'SkillCallSucceeded':
      return withPhase(run, event.data, { kind: 'outcome_recorded' });
    case 'SkillCallFailed': {
      const next = withPhase(run, event.data, { kind: 'outcome_recorded' });
      if (event.data.errorCode === 'EMERGENCY_STOP') return withStopAborted(next, event.data);
      if (event.data.compensation) return next;
      const { errorCode, message, retryAfterMs, retryable } = event.data;
      const lastFailure: LastFailure = { errorCode, message, retry: retryable };
      if (retryAfterMs !== undefined) lastFailure.retryAfterMs = retryAfterMs;
      return withStep(next, event.data.stepIndex, { lastFailure });
    }
    case 'FailureClassified': {
      const { stepIndex, compensation, retry } = event.data;
      const lastFailure = run.steps[stepIndex]!.lastFailure;
      if (compensation || !lastFailure) return run;
      return withStep(run, stepIndex, { lastFailure: { ...lastFailure, retry } });
    }
    case 'RecoverySuggested': {
      const { recoveryId, stepIndex, attempt, recovery, change, automatic } = event.data;
      const record: RecoveryRecord = { recoveryId, stepIndex, attempt, recovery, change, status: 'pending' };
      const next = { ...run, recoveries: { ...run.recoveries, [recoveryId]: record } };
      return automatic
        ? next
        : withStep(next, stepIndex, { phase: { kind: 'awaiting_recovery', recoveryId } });
    }
    case 'RecoveryDecided':
      return withRecoveryStatus(run, event.data.recoveryId, event.data.decision);
    case 'RecoveryApplied': {
      const { recoveryId, stepIndex, change, nextAttempt } = event.data;
      const current = run.steps[stepIndex]!;
      return withStep(withRecoveryStatus(run, recoveryId, 'applied'), stepIndex, {
        change: { ...current.change, ...(change as StepChange) },
        attempt: nextAttempt,
        phase: { kind: 'evaluate' },
        recoveries: current.recoveries + 1,
        retryBase: nextAttempt - 1,
      });
    }
    case 'CostCharged':
      return { ...run, chargedMicros: run.chargedMicros + event.data.chargedMicros };
    case 'RetryScheduled':
      return withPhase(
        run,
        event.data,
        { kind: 'evaluate', retryDueAt: event.data.dueAt },
        event.data.nextAttempt,
      );
    case 'BudgetExceeded': {
      const { stepIndex, scope, requestedMicros, remainingMicros } = event.data;
      const reason = `budget exceeded (${scope}): ${requestedMicros} micros requested, ${remainingMicros} remain`;
      return withFailure(run, {
        status: 'budget_exceeded',
        reason,
        errorCode: 'BUDGET_EXCEEDED',
        stepIndex,
        compensate: false,
      });
    }
    case 'StepCompleted': {
      const { stepIndex, outcome, attempts, output, errorCode, reason } = event.data;
      const change: Partial<StepRun> = { status: outcome, attempts, phase: { kind: 'done' } };
      if (output !== undefined) change.output = output;
      let next = withStep(run, stepIndex, change);
      next = { ...next, steps: activateReady(next, next.steps) };
      if (outcome === 'succeeded') return { ...next, completionOrder: [...run.completionOrder, stepIndex] };
      const onFailure = run.submission.plan.steps[stepIndex]!.onFailure;
      if (onFailure === 'continue') return next;
      const code = errorCode ?? 'INTERNAL';
      return withFailure(next, {
        status: failureStatus(code),
        reason: `step ${stepIndex + 1} failed: ${reason ?? code}`,
        errorCode: code,
        stepIndex,
        compensate: onFailure === 'compensate',
      });
    }
    case 'StepSkipped': {
      const next = withStep(run, event.data.stepIndex, { status: 'skipped', phase: { kind: 'done' } });
      return { ...next, steps: activateReady(next, next.steps) };
    }
    case 'CompensationRequested':
      return {
        ...run,
        compensation: {
          steps: event.data.steps,
          current: 0,
          attempt: 1,
          phase: { kind: 'ready', decisionId: 'compensation' },
          results: [],
          retryBase: 0,
        },
      };
    case 'StepCompensated': {
      const compensation = run.compensation!;
      return {
        ...run,
        compensation: {
          ...compensation,
          current: compensation.current + 1,
          attempt: 1,
          phase: { kind: 'ready', decisionId: 'compensation' },
          retryBase: 0,
          results: [
            ...compensation.results,
            { stepIndex: event.data.stepIndex, outcome: event.data.outcome },
          ],
        },
      };
    }
    case 'RunPaused': {
      const { stopTenantId, stoppedAt, at } = event.data;
      return { ...run, paused: { stopTenantId, stoppedAt, at } };
    }
    case 'RunResumed':
      return { ...run, paused: null };
    case 'RunCancelRequested':
      return {
        ...run,
        cancelRequest: { actor: event.data.actor, reason: event.data.reason, at: event.data.at },
      };
    case 'ChildRunStarted': {
      const { childRunId, stepIndex, mode, budgetMicros } = event.data;
      const child: ChildRecord = {
        childRunId,
        stepIndex,
        mode,
        budgetMicros,
        status: 'running',
        cancelRequested: false,
      };
      const next = { ...run, children: { ...run.children, [childRunId]: child } };
      return mode === 'invoke'
        ? withStep(next, stepIndex, { phase: { kind: 'awaiting_child', childRunId } })
        : next;
    }
    case 'ChildRunRefused':
      return withStep(run, event.data.stepIndex, { phase: { kind: 'outcome_recorded' } });
    case 'ChildRunEnded': {
      const { childRunId, status, chargedMicros } = event.data;
      const child = run.children[childRunId]!;
      const next: SubmittedRun = {
        ...run,
        chargedMicros: run.chargedMicros + chargedMicros,
        children: { ...run.children, [childRunId]: { ...child, status } },
      };
      return child.mode === 'invoke'
        ? withStep(next, child.stepIndex, { phase: { kind: 'outcome_recorded' } })
        : next;
    }
    case 'ChildCancelRequested': {
      const child = run.children[event.data.childRunId]!;
      return {
        ...run,
        children: { ...run.children, [child.childRunId]: { ...child, cancelRequested: true } },
      };
    }
    case 'RunCompleted':
      return {
        ...run,
        completion: { status: event.data.status, reason: event.data.reason, at: event.data.at },
      };
  }
}

/**
 * An attempt the emergency stop aborted does not count against its retry policy: the next
 * attempt is counted as the aborted one was (retryBase moves with it).
 */
function withStopAborted(run: SubmittedRun, data: { stepIndex: number; compensation?: true }): SubmittedRun {
  if (data.compensation && run.compensation) {
    return { ...run, compensation: { ...run.compensation, retryBase: run.compensation.retryBase + 1 } };
  }
  const current = run.steps[data.stepIndex]!;
  return withStep(run, data.stepIndex, { retryBase: current.retryBase + 1 });
}

/** The final status of a run ended by a failed step, by the failure's code. */
export function failureStatus(errorCode: ErrorCode): FinalRunStatus {
  switch (errorCode) {
    case 'POLICY_DENIED':
      return 'policy_denied';
    case 'BUDGET_EXCEEDED':
      return 'budget_exceeded';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'failed';
  }
}

/** The first failure decides how the run ends. */
function withFailure(run: SubmittedRun, failure: RunFailure): SubmittedRun {
  return run.failure ? run : { ...run, failure };
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

function withRecoveryStatus(
  run: SubmittedRun,
  recoveryId: string,
  status: RecoveryRecord['status'],
): SubmittedRun {
  const record = run.recoveries[recoveryId];
  if (!record) return run;
  return { ...run, recoveries: { ...run.recoveries, [recoveryId]: { ...record, status } } };
}

function submittedRun(submission: RunEventData<'RunSubmitted'>): SubmittedRun {
  const graph = planGraph(submission.plan);
  const run: SubmittedRun = {
    status: 'queued',
    submission,
    graph,
    estimates: null,
    steps: graph.ids.map(() => ({
      status: 'pending',
      attempt: 1,
      phase: { kind: 'evaluate' },
      approved: false,
      recoveries: 0,
      retryBase: 0,
    })),
    completionOrder: [],
    approvals: {},
    // A planned goal starts having spent what its planner's call cost.
    chargedMicros: submission.planningMicros ?? 0,
    failure: null,
    compensation: null,
    cancelRequest: null,
    completion: null,
    children: {},
    recoveries: {},
    paused: null,
  };
  return { ...run, steps: activateReady(run, run.steps) };
}

export function evolve(state: RunState, event: RunEvent): RunState {
  if (!isSubmitted(state)) {
    if (event.type !== 'RunSubmitted') return state;
    return submittedRun(event.data);
  }
  const next = applyToRun(state, event);
  return { ...next, status: statusAfter(state.status, event) ?? state.status };
}

export function foldRun(events: readonly RunEvent[], from: RunState = initialState): RunState {
  return events.reduce(evolve, from);
}

/** Steps with an attempt out (the compensation's included as `compensation`). */
export function inFlightSteps(run: SubmittedRun): number[] {
  return run.steps.flatMap((step, index) => (step.phase.kind === 'in_flight' ? [index] : []));
}

/** A failure, a cancel or the deadline: the run ends once nothing is in flight, and starts nothing new. */
export function mustEnd(run: SubmittedRun, at: string): boolean {
  return (
    run.failure !== null ||
    run.cancelRequest !== null ||
    instantMs(at) >= instantMs(run.submission.deadlineAt)
  );
}

/** Child runs that have not ended yet. */
export function liveChildren(run: SubmittedRun): ChildRecord[] {
  return Object.values(run.children).filter((child) => child.status === 'running');
}

/** An attempt out, or a child run not ended: the run cannot end before they have. */
export function somethingInFlight(run: SubmittedRun): boolean {
  return (
    inFlightSteps(run).length > 0 ||
    run.compensation?.phase.kind === 'in_flight' ||
    liveChildren(run).length > 0
  );
}
