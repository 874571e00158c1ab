// What an executor should do next for a run, from its state and the time: the process
// manager's whole decision table in pure functions, so that the executor is a loop that
// performs the actions and reports each observation back as a command. `nextActions` lists
// what can be done now for every active step (parallel branches, up to the plan's
// maxParallel); `nextAction` is the first of them, all a linear plan ever has.
import type { Micros } from '../money.ts';
import { isChildRunSkill } from '../plan/child-run-input.ts';
import type { StepInput } from '../step-input.ts';
import { instantMs, isoFromMs } from '../time.ts';
import {
  childBudgetMicros,
  childRunIdFor,
  compensationEstimateMicros,
  stepEstimate,
  waitsForBudget,
} from './decide.ts';
import { resolvedCompensationInput, resolvedStepInput, seedForStep, stepSkill } from './resolve.ts';
import {
  type AttemptPhase,
  isSubmitted,
  liveChildren,
  mustEnd,
  type RunState,
  type SubmittedRun,
  somethingInFlight,
} from './state.ts';
import { type FinalRunStatus, isFinalStatus } from './status.ts';

export type NextAction =
  /** Send EvaluateStep {stepIndex, now}. */
  | { kind: 'evaluate'; stepIndex?: number }
  /** Reserve `estimateMicros` on the tenant day ledger, then StartAttempt or RecordBudgetRefused. */
  | {
      kind: 'reserve';
      stepIndex: number;
      attempt: number;
      estimateMicros: Micros;
      model?: string;
      compensation?: true;
    }
  /** Call the skill, then RecordOutcome (or RecordWorkerLost once the attempt's lease has expired). */
  | {
      kind: 'call';
      stepIndex: number;
      attempt: number;
      skill: string;
      skillVersion?: string;
      input: StepInput;
      seed: number | string;
      reservationId: string;
      compensation?: true;
    }
  /**
   * Submit the child run of an agent_invoke / agent_spawn step (`request` is the step's
   * resolved input), then StartChild — or RecordChildRefused if the submission is refused.
   */
  | {
      kind: 'start_child';
      stepIndex: number;
      attempt: number;
      childRunId: string;
      budgetMicros: Micros;
      request: StepInput;
    }
  /** A child run is under way: once its stream shows it ended, send RecordChildEnded. */
  | { kind: 'await_child'; childRunId: string; stepIndex: number }
  /** This run must end: ask its live child to cancel, then send RequestChildCancel. */
  | { kind: 'cancel_child'; childRunId: string; stepIndex: number }
  /** Nothing to do before `until` (a retry's dueAt, or the deadline if sooner). */
  | { kind: 'wait'; until: string }
  /** A human must approve or reject; nothing to do before `expiresAt`. */
  | {
      kind: 'await_approval';
      approvalId: string;
      expiresAt: string;
      stepIndex: number;
      /** When to look again: its escalation, or its expiry. */
      wakeAt: string;
    }
  /** A recovery was suggested: an operator accepts or rejects it; nothing to do before the deadline. */
  | { kind: 'await_recovery'; recoveryId: string; stepIndex: number; until: string }
  /** The approval is undecided at its escalatesAt: send EscalateApproval {stepIndex, now}. */
  | { kind: 'escalate_approval'; approvalId: string; stepIndex: number }
  /** The approval is due: send ExpireApproval {stepIndex, now}. */
  | { kind: 'expire_approval'; approvalId: string; stepIndex: number }
  | { kind: 'done'; status: FinalRunStatus };

function callAction(
  run: SubmittedRun,
  stepIndex: number,
  attempt: number,
  reservationId: string,
): NextAction {
  const called = stepSkill(run, stepIndex);
  const action: NextAction = {
    kind: 'call',
    stepIndex,
    attempt,
    skill: called.skill,
    input: resolvedStepInput(run, stepIndex),
    seed: seedForStep(run, stepIndex),
    reservationId,
  };
  if (called.skillVersion !== undefined) action.skillVersion = called.skillVersion;
  return action;
}

function compensationActions(run: SubmittedRun, nowMs: number): NextAction[] {
  const compensation = run.compensation!;
  const stepIndex = compensation.steps[compensation.current]!;
  const { attempt, phase } = compensation;
  const compensate = run.submission.plan.steps[stepIndex]!.compensate!;
  if (phase.kind === 'in_flight') {
    const action: NextAction = {
      kind: 'call',
      stepIndex,
      attempt,
      skill: compensate.skill,
      input: resolvedCompensationInput(run, stepIndex),
      seed: seedForStep(run, stepIndex),
      reservationId: phase.reservationId,
      compensation: true,
    };
    if (compensate.skillVersion !== undefined) action.skillVersion = compensate.skillVersion;
    return [action];
  }
  if (phase.kind === 'evaluate' && phase.retryDueAt !== undefined && nowMs < instantMs(phase.retryDueAt)) {
    return [{ kind: 'wait', until: phase.retryDueAt }];
  }
  const estimateMicros = compensationEstimateMicros(run, stepIndex);
  return [{ kind: 'reserve', stepIndex, attempt, estimateMicros, compensation: true }];
}

/** The actions of one active step, or undefined when it has none now. */
function stepAction(
  run: SubmittedRun,
  stepIndex: number,
  phase: AttemptPhase,
  nowMs: number,
  deadlineMs: number,
) {
  const attempt = run.steps[stepIndex]!.attempt;
  switch (phase.kind) {
    case 'in_flight':
      return callAction(run, stepIndex, attempt, phase.reservationId);
    case 'awaiting_approval': {
      if (nowMs >= instantMs(phase.expiresAt)) {
        return { kind: 'expire_approval', approvalId: phase.approvalId, stepIndex } as const;
      }
      const escalatesAt = run.approvals[phase.approvalId]?.escalated ? undefined : phase.escalatesAt;
      if (escalatesAt !== undefined && nowMs >= instantMs(escalatesAt)) {
        return { kind: 'escalate_approval', approvalId: phase.approvalId, stepIndex } as const;
      }
      return {
        kind: 'await_approval',
        approvalId: phase.approvalId,
        expiresAt: phase.expiresAt,
        stepIndex,
        wakeAt: escalatesAt ?? phase.expiresAt,
      } as const;
    }
    case 'ready': {
      if (isChildRunSkill(run.submission.plan.steps[stepIndex]!.skill)) {
        return {
          kind: 'start_child',
          stepIndex,
          attempt,
          childRunId: childRunIdFor(run.submission.runId, stepIndex, attempt),
          budgetMicros: childBudgetMicros(run, stepIndex),
          request: resolvedStepInput(run, stepIndex),
        } as const;
      }
      const estimate = stepEstimate(run, stepIndex);
      const action: NextAction = { kind: 'reserve', stepIndex, attempt, estimateMicros: estimate.costMicros };
      if (estimate.model !== undefined) action.model = estimate.model;
      return action;
    }
    case 'awaiting_recovery':
      return {
        kind: 'await_recovery',
        recoveryId: phase.recoveryId,
        stepIndex,
        until: run.submission.deadlineAt,
      } as const;
    case 'evaluate': {
      if (phase.retryDueAt !== undefined && nowMs < instantMs(phase.retryDueAt)) {
        return { kind: 'wait', until: isoFromMs(Math.min(instantMs(phase.retryDueAt), deadlineMs)) } as const;
      }
      // Another branch holds the budget this step needs: it waits for that to settle.
      if (waitsForBudget(run, stepIndex)) return undefined;
      return { kind: 'evaluate', stepIndex } as const;
    }
    case 'awaiting_child': // see childActions
    case 'outcome_recorded':
    case 'done':
      return undefined;
  }
}

/** Each live child is waited for; once this run must end, it is first asked to cancel. */
function childActions(run: SubmittedRun, mustEnd: boolean): NextAction[] {
  return liveChildren(run).map((child) => ({
    kind: mustEnd && !child.cancelRequested ? 'cancel_child' : 'await_child',
    childRunId: child.childRunId,
    stepIndex: child.stepIndex,
  }));
}

export function nextActions(state: RunState, now: string): NextAction[] {
  if (!isSubmitted(state)) throw new Error('nextAction: the run does not exist');
  if (isFinalStatus(state.status)) return [{ kind: 'done', status: state.status }];
  if (state.compensation) return compensationActions(state, instantMs(now));
  const nowMs = instantMs(now);
  const deadlineMs = instantMs(state.submission.deadlineAt);
  const active = state.steps.flatMap((step, index) => (step.status === 'active' ? [index] : []));
  // A failure, a cancel or the deadline takes effect once no call is out; until then only
  // the calls in flight go on.
  if (mustEnd(state, now)) {
    if (!somethingInFlight(state)) return [{ kind: 'evaluate' }];
    const calls = active.flatMap((index) => {
      const phase = state.steps[index]!.phase;
      return phase.kind === 'in_flight'
        ? [callAction(state, index, state.steps[index]!.attempt, phase.reservationId)]
        : [];
    });
    return [...calls, ...childActions(state, true)];
  }
  // Steps allowed, in flight or waiting for their child hold a branch; new ones are
  // evaluated while branches are free.
  const occupying = ['ready', 'in_flight', 'awaiting_child'];
  let free =
    state.graph.maxParallel -
    active.filter((index) => occupying.includes(state.steps[index]!.phase.kind)).length;
  const actions: NextAction[] = [];
  for (const index of active) {
    const phase = state.steps[index]!.phase;
    const action = stepAction(state, index, phase, nowMs, deadlineMs);
    if (!action) continue;
    if (action.kind === 'evaluate') {
      if (free <= 0) continue;
      free--;
    }
    actions.push(action);
  }
  return [...actions, ...childActions(state, false)];
}

/** The first thing to do now, or the earliest wait when there is nothing to do yet. */
export function nextAction(state: RunState, now: string): NextAction {
  const actions = nextActions(state, now);
  const waiting = (a: NextAction) =>
    a.kind === 'wait' ||
    a.kind === 'await_approval' ||
    a.kind === 'await_recovery' ||
    a.kind === 'await_child';
  const doable = actions.find((action) => !waiting(action));
  if (doable) return doable;
  const until = (a: NextAction) =>
    a.kind === 'wait' || a.kind === 'await_recovery' ? a.until : a.kind === 'await_approval' ? a.wakeAt : '';
  const timed = actions.filter((a) => a.kind !== 'await_child');
  const earliest = [...timed].sort((a, b) => instantMs(until(a)) - instantMs(until(b)))[0];
  // Only children to wait for: their end wakes this run.
  if (!earliest) return actions.find((a) => a.kind === 'await_child') ?? { kind: 'evaluate' };
  return earliest;
}
