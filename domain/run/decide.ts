// The run decider: decide(command, state) → new events, or a DomainError and nothing.
// A pure function of the state and the command (which carries the observation and `now`);
// see certify.ts for the proof obligation that follows from that.
//
// Steps whose dependencies have ended are active at once, each with its own attempt; a
// command names its step (`stepIndex`) or, when it does not, means the only active one (a
// linear plan). A failure that ends the run, a cancel and the deadline all wait until no
// attempt is in flight, so every attempt that was started records its outcome.
import { type ActorRole, approverRoles, cancellerRoles, escalatedApproverRoles } from '../actor.ts';
import { DomainError } from '../domain-error.ts';
import { type ErrorCode, errorCodes } from '../errors.ts';
import { estimateStepV1, estimateStepV2 } from '../estimate.ts';
import type { RunEvent } from '../events/run-events.ts';
import { classifyFailure, type FailureClassification, isRecovery } from '../failure-catalog.ts';
import { deterministicUuid } from '../hashing.ts';
import {
  DEFAULT_MAX_CHILD_DEPTH,
  DEFAULT_MAX_CHILDREN,
  isChildRunSkill,
  requestedChildBudget,
} from '../plan/child-run-input.ts';
import { evaluate, isTruthy } from '../plan/references.ts';
import { approvalTimeoutMs, evaluatePolicy, type PolicyInput } from '../policy.ts';
import { computeChargeMicros } from '../pricing.ts';
import { scheduledRetryDelayMs, shouldRetry } from '../retry.ts';
import type { SkillOutcome } from '../skill.ts';
import type { StepInput } from '../step-input.ts';
import { stepPolicyInput } from '../step-policy.ts';
import { addMs, instantMs, normalizeInstant } from '../time.ts';
import { withApprovalsClosed } from './approvals-closed.ts';
import {
  type DecideApproval,
  type DecideRecovery,
  type EscalateApproval,
  type EvaluateStep,
  type ExpireApproval,
  type RecordBudgetRefused,
  type RecordChildEnded,
  type RecordChildRefused,
  type RecordOutcome,
  type RecordWorkerLost,
  type RequestCancel,
  type RequestChildCancel,
  type RunCommand,
  type StartAttempt,
  type StartChild,
  skillOutcomeSchema,
} from './commands.ts';
import { runEvent } from './emit.ts';
import { pauseRun, resumeRun, stopAbortedRetry } from './pause.ts';
import { recoveryChange, recoveryIdFor } from './recovery.ts';
import {
  recordedInput,
  resolvedCompensationInput,
  resolvedRunOutput,
  resolvedStepInput,
  seedForStep,
  stepContext,
  stepSkill,
} from './resolve.ts';
import {
  evolve,
  isSubmitted,
  type LastFailure,
  liveChildren,
  mustEnd,
  type RunState,
  type StepRun,
  type SubmittedRun,
  somethingInFlight,
} from './state.ts';
import { type FinalRunStatus, isFinalStatus } from './status.ts';
import { decideSubmitRun } from './submit.ts';

export const WORKER_LOST_MESSAGE = 'worker lost: the attempt lease expired before an outcome was recorded';

export function decide(command: RunCommand, state: RunState): RunEvent[] {
  return withApprovalsClosed(state, decideCommand(command, state));
}

function decideCommand(command: RunCommand, state: RunState): RunEvent[] {
  if (command.type === 'SubmitRun') return decideSubmitRun(command, state);
  if (!isSubmitted(state)) throw new DomainError('NOT_FOUND', 'the run does not exist');
  if (isFinalStatus(state.status)) {
    throw new DomainError('CONFLICT', `run ${state.submission.runId} has already ended (${state.status})`, {
      status: state.status,
    });
  }
  switch (command.type) {
    case 'EvaluateStep':
      return evaluateStep(command, state);
    case 'DecideApproval':
      return decideApproval(command, state);
    case 'ExpireApproval':
      return expireApproval(command, state);
    case 'EscalateApproval':
      return escalateApproval(command, state);
    case 'RecordBudgetRefused':
      return recordBudgetRefused(command, state);
    case 'StartAttempt':
      return startAttempt(command, state);
    case 'RecordOutcome':
      return recordOutcome(command, state);
    case 'RecordWorkerLost':
      return recordWorkerLost(command, state);
    case 'DecideRecovery':
      return decideRecovery(command, state);
    case 'RequestCancel':
      return requestCancel(command, state);
    case 'StartChild':
      return startChild(command, state);
    case 'RecordChildRefused':
      return recordChildRefused(command, state);
    case 'RecordChildEnded':
      return recordChildEnded(command, state);
    case 'RequestChildCancel':
      return requestChildCancel(command, state);
    case 'PauseRun':
      return pauseRun(command, state);
    case 'ResumeRun':
      return resumeRun(command, state);
  }
}

// ---- helpers ---------------------------------------------------------------------------
// Texts name steps from 1, as the console does ("step 2" is stepIndex 1); fields stay 0-based.

/**
 * A step's estimate of record (v2, or v1 while the drift breaker had v2 out): reservations and
 * policy use it. A step a recovery changed (another model, fewer tokens, another skill) is
 * estimated as it is now called, by the same estimator.
 */
export function stepEstimate(run: SubmittedRun, stepIndex: number): { costMicros: number; model?: string } {
  const basis = run.estimates?.basis ?? 'v2';
  if (run.steps[stepIndex]?.change === undefined) {
    const recorded = run.estimates?.[basis].steps[stepIndex];
    if (!recorded) return { costMicros: 0 };
    return recorded.model === undefined
      ? { costMicros: recorded.costMicros }
      : { costMicros: recorded.costMicros, model: recorded.model };
  }
  const call = { skill: stepSkill(run, stepIndex).skill, input: resolvedStepInput(run, stepIndex) };
  const estimate =
    basis === 'v1'
      ? estimateStepV1(call, stepIndex)
      : estimateStepV2(call, run.submission.priceTable, stepIndex);
  return estimate.model === undefined
    ? { costMicros: estimate.costMicros }
    : { costMicros: estimate.costMicros, model: estimate.model };
}

export function stepEstimateMicros(run: SubmittedRun, stepIndex: number): number {
  return stepEstimate(run, stepIndex).costMicros;
}

/** What a compensation reserves: its v2 estimate on its resolved input. */
export function compensationEstimateMicros(run: SubmittedRun, stepIndex: number): number {
  const compensate = run.submission.plan.steps[stepIndex]!.compensate!;
  const input = resolvedCompensationInput(run, stepIndex);
  return estimateStepV2({ skill: compensate.skill, input }, run.submission.priceTable).costMicros;
}

/**
 * Micros other steps hold or are about to hold: reserved in flight, allowed and not yet
 * reserved, or carved out for a child run that has not ended.
 */
export function committedMicros(run: SubmittedRun, exceptStep: number): number {
  const steps = run.steps.reduce((sum, step, index) => {
    if (index === exceptStep) return sum;
    if (step.phase.kind === 'in_flight') return sum + step.phase.reservedMicros;
    if (step.phase.kind === 'ready') return sum + stepEstimateMicros(run, index);
    return sum;
  }, 0);
  return liveChildren(run).reduce((sum, child) => sum + child.budgetMicros, steps);
}

/** Whether a step must wait for other steps' reservations to settle before it can fit the run's budget. */
export function waitsForBudget(run: SubmittedRun, stepIndex: number): boolean {
  const committed = committedMicros(run, stepIndex);
  return (
    committed > 0 &&
    run.chargedMicros + committed + stepEstimateMicros(run, stepIndex) > run.submission.budget.maxCostMicros
  );
}

function step(run: SubmittedRun, stepIndex: number): StepRun {
  const found = run.steps[stepIndex];
  if (!found) throw new DomainError('CONFLICT', `run has no step ${stepIndex + 1}`, { stepIndex });
  return found;
}

/** The step a command means: the one it names, else the first active one matching `phase`. */
function targetStep(run: SubmittedRun, stepIndex: number | undefined, phase?: StepRun['phase']['kind']) {
  if (stepIndex !== undefined) {
    step(run, stepIndex);
    return stepIndex;
  }
  const active = run.steps.flatMap((s, index) => (s.status === 'active' ? [index] : []));
  const matching =
    phase === undefined ? undefined : active.find((index) => run.steps[index]!.phase.kind === phase);
  return matching ?? active[0];
}

function runCompleted(
  run: SubmittedRun,
  status: FinalRunStatus,
  reason: string,
  at: string,
  extra: {
    errorCode?: ErrorCode;
    stepIndex?: number;
    chargedMicros?: number;
    output?: unknown;
    compensations?: Array<{ stepIndex: number; outcome: 'succeeded' | 'failed' }>;
  } = {},
): RunEvent {
  return runEvent('RunCompleted', {
    runId: run.submission.runId,
    status,
    reason,
    errorCode: extra.errorCode,
    stepIndex: extra.stepIndex,
    chargedMicros: extra.chargedMicros ?? run.chargedMicros,
    output: extra.output,
    compensations: extra.compensations,
    at,
  });
}

/** The state after events this command has produced so far. */
function after(run: SubmittedRun, events: readonly RunEvent[]): SubmittedRun {
  return events.reduce((state: RunState, event) => evolve(state, event), run) as SubmittedRun;
}

/** Ends a failing run once nothing is in flight: its compensations first, if it asked for them. */
function finishFailure(run: SubmittedRun, at: string): RunEvent[] {
  const failure = run.failure!;
  const toCompensate = failure.compensate
    ? [...run.completionOrder].reverse().filter((index) => run.submission.plan.steps[index]!.compensate)
    : [];
  if (toCompensate.length > 0) {
    return [
      runEvent('CompensationRequested', {
        runId: run.submission.runId,
        stepIndex: failure.stepIndex,
        errorCode: failure.errorCode,
        reason: failure.reason,
        steps: toCompensate,
        at,
      }),
    ];
  }
  return [
    runCompleted(run, failure.status, failure.reason, at, {
      errorCode: failure.errorCode,
      stepIndex: failure.stepIndex,
    }),
  ];
}

/**
 * What follows a step's end (its events already in `run`): a failure ends the run once no
 * attempt is in flight; the run succeeds when every step has ended; otherwise nothing.
 */
function afterStep(run: SubmittedRun, at: string): RunEvent[] {
  if (run.failure) return somethingInFlight(run) ? [] : finishFailure(run, at);
  if (run.steps.some((s) => s.status === 'pending' || s.status === 'active')) return [];
  // A run waits for the children it spawned: what they spend is charged to it.
  if (liveChildren(run).length > 0) return [];
  const failed = run.steps.filter((s) => s.status === 'failed').length;
  const reason =
    failed === 0 ? 'all steps succeeded' : `all steps done; ${failed} failed step(s) were continued`;
  let output: unknown;
  try {
    output = resolvedRunOutput(run);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [runCompleted(run, 'failed', `the plan output could not be resolved: ${message}`, at, {})];
  }
  return [runCompleted(run, 'succeeded', reason, at, { output })];
}

/** A step that ended in failure: StepCompleted, then the run ends unless the step may continue. */
function stepFailed(
  run: SubmittedRun,
  stepIndex: number,
  errorCode: ErrorCode,
  reason: string,
  at: string,
  attempts: number,
): RunEvent[] {
  const completed = runEvent('StepCompleted', {
    runId: run.submission.runId,
    stepIndex,
    outcome: 'failed',
    attempts,
    errorCode,
    reason,
    at,
  });
  return [completed, ...afterStep(after(run, [completed]), at)];
}

function requirePhase<K extends StepRun['phase']['kind']>(
  stepIndex: number,
  phase: StepRun['phase'],
  attempt: number,
  kind: K,
  action: string,
): Extract<StepRun['phase'], { kind: K }> {
  if (phase.kind !== kind) {
    throw new DomainError(
      'CONFLICT',
      `cannot ${action}: step ${stepIndex + 1} attempt ${attempt} is ${phase.kind}`,
      {
        phase: phase.kind,
      },
    );
  }
  return phase as Extract<StepRun['phase'], { kind: K }>;
}

/** The attempt a command acts on: a compensation's while one is under way, else a step's. */
interface Attempt {
  stepIndex: number;
  attempt: number;
  phase: StepRun['phase'];
  compensation: boolean;
}

function attemptFor(
  run: SubmittedRun,
  stepIndex: number | undefined,
  phase: StepRun['phase']['kind'],
): Attempt {
  const compensation = run.compensation;
  if (compensation) {
    const index = compensation.steps[compensation.current]!;
    return { stepIndex: index, attempt: compensation.attempt, phase: compensation.phase, compensation: true };
  }
  const index = targetStep(run, stepIndex, phase);
  if (index === undefined) throw new DomainError('CONFLICT', 'no step is active');
  const found = step(run, index);
  return { stepIndex: index, attempt: found.attempt, phase: found.phase, compensation: false };
}

// ---- EvaluateStep ----------------------------------------------------------------------

function policyInput(run: SubmittedRun, stepIndex: number, input: StepInput): PolicyInput {
  const planStep = run.submission.plan.steps[stepIndex]!;
  const current = step(run, stepIndex);
  const called = stepSkill(run, stepIndex);
  return stepPolicyInput({
    runId: run.submission.runId,
    tenantId: run.submission.tenantId,
    agentId: run.submission.agentId,
    stepIndex,
    attempt: current.attempt,
    skill: called.skill,
    skillVersion: called.skillVersion,
    sideEffecting: planStep.sideEffecting,
    estimateMicros: stepEstimateMicros(run, stepIndex),
    approvalGranted: current.approved,
    input,
  });
}

/** Ends the run when it must and nothing is in flight: a failure, a cancel, the deadline. */
function endWhenIdle(run: SubmittedRun, at: string): RunEvent[] | undefined {
  if (!mustEnd(run, at)) return undefined;
  if (somethingInFlight(run)) return [];
  if (run.failure) return finishFailure(run, at);
  if (run.cancelRequest) {
    const { actor, reason } = run.cancelRequest;
    return [
      runCompleted(run, 'cancelled', `cancelled by ${actor.id}: ${reason}`, at, { errorCode: 'CANCELLED' }),
    ];
  }
  return [
    runCompleted(run, 'timed_out', `deadline ${run.submission.deadlineAt} passed`, at, {
      errorCode: 'TIMEOUT',
    }),
  ];
}

/** Why a step is skipped, if it is: every dependency skipped, or its `when` is false. */
function skipReason(run: SubmittedRun, stepIndex: number): string | undefined {
  const deps = run.graph.deps[stepIndex]!;
  if (deps.length > 0 && deps.every((dep) => run.steps[dep]!.status === 'skipped')) {
    return 'every step it depends on was skipped';
  }
  const when = run.submission.plan.steps[stepIndex]!.when;
  if (when !== undefined && !isTruthy(evaluate(when, stepContext(run, stepIndex)))) {
    return `when ${JSON.stringify(when)} is false`;
  }
  return undefined;
}

function evaluateStep(command: EvaluateStep, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  if (run.compensation) return [];
  const stepIndex = targetStep(run, command.stepIndex, 'evaluate');
  const current = stepIndex === undefined ? undefined : step(run, stepIndex);
  if (current?.phase.kind === 'in_flight') {
    throw new DomainError('CONFLICT', `step ${(stepIndex ?? 0) + 1} attempt ${current.attempt} is in flight`);
  }
  const ended = endWhenIdle(run, at);
  if (ended) return ended;
  if (stepIndex === undefined || current?.status !== 'active' || current.phase.kind !== 'evaluate') return [];
  const { retryDueAt } = current.phase;
  if (retryDueAt !== undefined && instantMs(at) < instantMs(retryDueAt)) return [];

  const runId = run.submission.runId;
  const attempt = current.attempt;
  let input: StepInput;
  try {
    const skipped = skipReason(run, stepIndex);
    if (skipped !== undefined) {
      const event = runEvent('StepSkipped', {
        runId,
        stepIndex,
        stepId: run.graph.ids[stepIndex]!,
        reason: skipped,
        at,
      });
      return [event, ...afterStep(after(run, [event]), at)];
    }
    input = resolvedStepInput(run, stepIndex);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return stepFailed(
      run,
      stepIndex,
      'INVALID_INPUT',
      `its references could not be resolved: ${message}`,
      at,
      attempt - 1,
    );
  }

  const estimate = stepEstimateMicros(run, stepIndex);
  const { maxCostMicros } = run.submission.budget;
  if (waitsForBudget(run, stepIndex)) return [];
  if (run.chargedMicros + estimate > maxCostMicros) {
    const remainingMicros = Math.max(0, maxCostMicros - run.chargedMicros);
    const exceeded = runEvent('BudgetExceeded', {
      runId,
      stepIndex,
      attempt,
      scope: 'run',
      requestedMicros: estimate,
      remainingMicros,
      at,
    });
    if (somethingInFlight(run)) return [exceeded];
    return [
      exceeded,
      runCompleted(
        run,
        'budget_exceeded',
        `step ${stepIndex + 1} needs ${estimate} micros; ${remainingMicros} of the run's ${maxCostMicros} remain`,
        at,
        { errorCode: 'BUDGET_EXCEEDED', stepIndex },
      ),
    ];
  }

  const overLimit = childLimitReason(run, stepIndex);
  if (overLimit) return stepFailed(run, stepIndex, 'CHILD_LIMIT_EXCEEDED', overLimit, at, attempt - 1);

  const policy = policyInput(run, stepIndex, input);
  const decision = evaluatePolicy(run.submission.policy, policy);
  const decided = runEvent('PolicyDecided', { runId, stepIndex, attempt, ...decision, input: policy, at });
  switch (decision.result) {
    case 'allow':
      return [decided];
    case 'deny':
      return [
        decided,
        ...stepFailed(after(run, [decided]), stepIndex, 'POLICY_DENIED', decision.reason, at, attempt - 1),
      ];
    case 'require_approval':
      return [
        decided,
        runEvent('ApprovalRequested', {
          runId,
          stepIndex,
          attempt,
          approvalId: approvalIdFor(runId, stepIndex),
          decisionId: decision.decisionId,
          reason: decision.reason,
          expiresAt: addMs(at, approvalTimeout(run)),
          ...escalationOf(run, at),
          at,
        }),
      ];
  }
}

/** One approval per step: the id is derived from the run and step, never random. */
export function approvalIdFor(runId: string, stepIndex: number): string {
  return deterministicUuid('approval', runId, stepIndex);
}

function approvalTimeout(run: SubmittedRun): number {
  return approvalTimeoutMs(run.submission.policy.rules);
}

/** Who decides an approval asked at `at` and when it escalates, as the run's policy says. */
function escalationOf(run: SubmittedRun, at: string): { escalatesAt?: string; approverRoles?: ActorRole[] } {
  const { escalateAfterMs, approverRoles: narrowed } = run.submission.policy.rules;
  const escalates = escalateAfterMs !== undefined && escalateAfterMs < approvalTimeout(run);
  return {
    ...(escalates ? { escalatesAt: addMs(at, escalateAfterMs) } : {}),
    ...(narrowed ? { approverRoles: [...narrowed] } : {}),
  };
}

// ---- approvals -------------------------------------------------------------------------

function decideApproval(command: DecideApproval, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const approval = run.approvals[command.approvalId];
  const allowed = approval?.approverRoles ?? approverRoles;
  if (!allowed.includes(command.actor.role)) {
    throw new DomainError(
      'PERMISSION_DENIED',
      `role ${command.actor.role} may not decide this approval${approval?.escalated === false && approval.escalatesAt ? ` before it escalates at ${approval.escalatesAt}` : ''}`,
      { role: command.actor.role, allowedRoles: allowed },
    );
  }
  if (!approval) throw new DomainError('NOT_FOUND', `no approval ${command.approvalId} in this run`);
  if (approval.status !== 'pending') {
    throw new DomainError('CONFLICT', `approval ${command.approvalId} is already ${approval.status}`, {
      status: approval.status,
    });
  }
  if (instantMs(at) >= instantMs(approval.expiresAt)) {
    throw new DomainError('CONFLICT', `approval ${command.approvalId} expired at ${approval.expiresAt}`, {
      expiresAt: approval.expiresAt,
    });
  }
  const data = {
    runId: run.submission.runId,
    stepIndex: approval.stepIndex,
    approvalId: approval.approvalId,
    actor: command.actor,
    comment: command.comment,
    at,
  };
  if (command.decision === 'approve') return [runEvent('ApprovalGranted', data)];
  const reason = `approval rejected by ${command.actor.id}${command.comment ? `: ${command.comment}` : ''}`;
  const rejected = runEvent('ApprovalRejected', data);
  const attempts = step(run, approval.stepIndex).attempt - 1;
  return [
    rejected,
    ...stepFailed(after(run, [rejected]), approval.stepIndex, 'POLICY_DENIED', reason, at, attempts),
  ];
}

function escalateApproval(command: EscalateApproval, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const target = attemptFor(run, command.stepIndex, 'awaiting_approval');
  const phase = requirePhase(target.stepIndex, target.phase, target.attempt, 'awaiting_approval', 'escalate');
  const approval = run.approvals[phase.approvalId]!;
  if (approval.escalated || phase.escalatesAt === undefined) return [];
  if (instantMs(at) < instantMs(phase.escalatesAt)) {
    throw new DomainError('CONFLICT', `approval ${phase.approvalId} escalates at ${phase.escalatesAt}`, {
      escalatesAt: phase.escalatesAt,
    });
  }
  const widened = [...new Set([...approval.approverRoles, ...escalatedApproverRoles])];
  return [
    runEvent('ApprovalEscalated', {
      runId: run.submission.runId,
      stepIndex: target.stepIndex,
      approvalId: phase.approvalId,
      approverRoles: widened,
      at,
    }),
  ];
}

function expireApproval(command: ExpireApproval, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const target = attemptFor(run, command.stepIndex, 'awaiting_approval');
  const phase = requirePhase(
    target.stepIndex,
    target.phase,
    target.attempt,
    'awaiting_approval',
    'expire an approval',
  );
  if (instantMs(at) < instantMs(phase.expiresAt)) {
    throw new DomainError(
      'CONFLICT',
      `approval ${phase.approvalId} is not due to expire until ${phase.expiresAt}`,
      {
        expiresAt: phase.expiresAt,
      },
    );
  }
  const expired = runEvent('ApprovalExpired', {
    runId: run.submission.runId,
    stepIndex: target.stepIndex,
    approvalId: phase.approvalId,
    expiresAt: phase.expiresAt,
    at,
  });
  return [
    expired,
    ...stepFailed(
      after(run, [expired]),
      target.stepIndex,
      'TIMEOUT',
      `approval expired at ${phase.expiresAt}`,
      at,
      target.attempt - 1,
    ),
  ];
}

// ---- attempts --------------------------------------------------------------------------

/** A compensation starts from `ready`, or from `evaluate` once its retry is due. */
function requireStartable(target: Attempt, at: string, action: string) {
  if (target.compensation && target.phase.kind === 'evaluate') {
    const due = target.phase.retryDueAt;
    if (due === undefined || instantMs(at) >= instantMs(due)) return;
    throw new DomainError('CONFLICT', `cannot ${action}: the compensation's retry is due at ${due}`);
  }
  requirePhase(target.stepIndex, target.phase, target.attempt, 'ready', action);
}

function recordBudgetRefused(command: RecordBudgetRefused, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const target = attemptFor(run, command.stepIndex, 'ready');
  requireStartable(target, at, 'record a budget refusal');
  const scope = command.scope ?? 'tenant_day';
  const exceeded = runEvent('BudgetExceeded', {
    runId: run.submission.runId,
    stepIndex: target.stepIndex,
    attempt: target.attempt,
    scope,
    reservationId: command.reservationId,
    requestedMicros: command.requestedMicros,
    remainingMicros: command.remainingMicros,
    at,
  });
  const reason = `the ${scope === 'tenant_day' ? "tenant's day budget" : 'model cap'} refused ${command.requestedMicros} micros; ${command.remainingMicros} remain`;
  if (target.compensation) {
    return [
      exceeded,
      ...compensationEnded(run, target, 'failed', at, { errorCode: 'BUDGET_EXCEEDED', reason }),
    ];
  }
  if (somethingInFlight(run)) return [exceeded];
  return [
    exceeded,
    runCompleted(run, 'budget_exceeded', reason, at, {
      errorCode: 'BUDGET_EXCEEDED',
      stepIndex: target.stepIndex,
    }),
  ];
}

function startAttempt(command: StartAttempt, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const target = attemptFor(run, command.stepIndex, 'ready');
  requireStartable(target, at, 'start an attempt');
  const planStep = run.submission.plan.steps[target.stepIndex]!;
  if (!target.compensation && mustEnd(run, at)) {
    throw new DomainError(
      'CONFLICT',
      'the run must end at this boundary (failed, cancelled or past its deadline): evaluate it',
    );
  }
  if (run.paused) {
    throw new DomainError('CONFLICT', 'the run is paused by an emergency stop: resume it first', {
      stoppedAt: run.paused.stoppedAt,
    });
  }
  const called = target.compensation ? planStep.compensate! : stepSkill(run, target.stepIndex);
  // A v1 plan's input is the submitted one, not recorded again, unless a recovery changed it.
  const resolved =
    run.graph.version === 1 && (target.compensation || run.steps[target.stepIndex]!.change === undefined)
      ? undefined
      : target.compensation
        ? resolvedCompensationInput(run, target.stepIndex)
        : resolvedStepInput(run, target.stepIndex);
  return [
    runEvent('SkillCallStarted', {
      runId: run.submission.runId,
      stepIndex: target.stepIndex,
      attempt: target.attempt,
      skill: called.skill,
      skillVersion: called.skillVersion,
      reservationId: command.reservationId,
      reservedMicros: command.reservedMicros,
      estimateMicros: command.estimateMicros,
      ...(target.compensation ? { compensation: true as const } : {}),
      ...(resolved === undefined ? {} : recordedInput(resolved)),
      ...(run.graph.version === 1 ? {} : { seed: seedForStep(run, target.stepIndex) as number }),
      at,
    }),
  ];
}

function consumed(outcome: SkillOutcome): boolean {
  const usage = outcome.usage;
  const tokens = usage ? usage.inputTokens + usage.outputTokens + usage.cachedInputTokens : 0;
  return tokens > 0 || (outcome.providerCostMicros ?? 0) > 0;
}

/** A compensation ended: StepCompensated, then the next compensation or the run's end. */
function compensationEnded(
  run: SubmittedRun,
  target: Attempt,
  outcome: 'succeeded' | 'failed',
  at: string,
  failure?: { errorCode: ErrorCode; reason: string },
  earlier: readonly RunEvent[] = [],
): RunEvent[] {
  const compensated = runEvent('StepCompensated', {
    runId: run.submission.runId,
    stepIndex: target.stepIndex,
    outcome,
    attempts: target.attempt,
    errorCode: failure?.errorCode,
    reason: failure?.reason,
    at,
  });
  const next = after(run, [...earlier, compensated]);
  const compensation = next.compensation!;
  if (compensation.current < compensation.steps.length) return [compensated];
  const runFailure = next.failure!;
  const failedOnes = compensation.results.filter((r) => r.outcome === 'failed').map((r) => r.stepIndex);
  const listed = compensation.results.map((r) => `${r.stepIndex} ${r.outcome}`).join(', ');
  const status: FinalRunStatus = failedOnes.length > 0 ? 'compensation_failed' : runFailure.status;
  return [
    compensated,
    runCompleted(next, status, `${runFailure.reason}; compensations: ${listed}`, at, {
      errorCode: runFailure.errorCode,
      stepIndex: runFailure.stepIndex,
      compensations: compensation.results,
    }),
  ];
}

function recordOutcome(command: RecordOutcome, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const target = attemptFor(run, command.stepIndex, 'in_flight');
  const phase = requirePhase(
    target.stepIndex,
    target.phase,
    target.attempt,
    'in_flight',
    'record an outcome',
  );
  const parsed = skillOutcomeSchema.safeParse(command.outcome);
  if (!parsed.success) {
    throw new DomainError('INVALID_INPUT', 'malformed skill outcome', { issues: parsed.error.issues });
  }
  const outcome = command.outcome;
  const latencyMs = Math.max(0, Math.round(command.latencyMs));
  const { runId, priceTable } = run.submission;
  const { stepIndex, attempt } = target;
  const flag = target.compensation ? { compensation: true as const } : {};
  const events: RunEvent[] = [
    outcome.ok
      ? runEvent('SkillCallSucceeded', {
          runId,
          stepIndex,
          attempt,
          ...flag,
          output: outcome.output,
          latencyMs,
          at,
        })
      : runEvent('SkillCallFailed', {
          runId,
          stepIndex,
          attempt,
          ...flag,
          errorCode: outcome.errorCode,
          category: errorCodes[outcome.errorCode].category,
          retryable: errorCodes[outcome.errorCode].retryable,
          message: outcome.message,
          retryAfterMs: outcome.retryAfterMs,
          httpStatus: outcome.httpStatus,
          latencyMs,
          at,
        }),
  ];

  if (consumed(outcome)) {
    const computedMicros = outcome.usage ? computeChargeMicros(outcome.usage, priceTable) : 0;
    const charge = Math.max(computedMicros, outcome.providerCostMicros ?? 0);
    events.push(
      runEvent('CostCharged', {
        runId,
        stepIndex,
        attempt,
        ...flag,
        reservationId: phase.reservationId,
        usage: outcome.usage,
        estimateMicros: phase.estimateMicros,
        computedMicros,
        providerMicros: outcome.providerCostMicros,
        chargedMicros: charge,
        priceTableVersion: priceTable.version,
        priceTableHash: priceTable.hash,
        at,
      }),
    );
  }

  if (outcome.ok && target.compensation)
    return [...events, ...compensationEnded(run, target, 'succeeded', at, undefined, events)];
  if (!outcome.ok && outcome.errorCode === 'EMERGENCY_STOP') {
    // Aborted by the stop: tried again after it, or the run ends if it must.
    if (!target.compensation && mustEnd(run, at))
      return [...events, ...(endWhenIdle(after(run, events), at) ?? [])];
    return [...events, stopAbortedRetry(run, target, at)];
  }
  if (outcome.ok) {
    const completed = runEvent('StepCompleted', {
      runId,
      stepIndex,
      outcome: 'succeeded',
      attempts: attempt,
      output: outcome.output,
      at,
    });
    events.push(completed);
    return [...events, ...afterStep(after(run, events), at)];
  }

  const classification =
    command.failureCatalog &&
    classifyFailure(command.failureCatalog, {
      errorCode: outcome.errorCode,
      skill: target.compensation
        ? run.submission.plan.steps[stepIndex]!.compensate!.skill
        : stepSkill(run, stepIndex).skill,
      message: outcome.message,
      httpStatus: outcome.httpStatus,
    });
  if (classification) events.push(failureClassifiedEvent(run, target, outcome.errorCode, classification, at));
  const failure: LastFailure = {
    errorCode: outcome.errorCode,
    message: outcome.message,
    retry: classification?.retry ?? errorCodes[outcome.errorCode].retryable,
  };
  if (outcome.retryAfterMs !== undefined) failure.retryAfterMs = outcome.retryAfterMs;
  const retrying = willRetry(run, target, failure);
  // A run that must end (failed elsewhere, cancelled, past its deadline) schedules no retry and
  // suggests no recovery: it ends once nothing else is in flight. A compensation is retried
  // regardless: undoing is not optional.
  if (!target.compensation && mustEnd(run, at)) {
    if (retrying) return [...events, ...(endWhenIdle(after(run, events), at) ?? [])];
  } else if (!target.compensation && classification && isRecovery(classification.recovery)) {
    const suggested = suggestRecovery(after(run, events), target, outcome.errorCode, classification, at);
    if (suggested) return [...events, ...suggested];
  }
  return [...events, ...afterFailure(after(run, events), target, failure, retrying, at)];
}

function failureClassifiedEvent(
  run: SubmittedRun,
  target: Attempt,
  errorCode: ErrorCode,
  classification: FailureClassification,
  at: string,
): RunEvent {
  const { catalogVersion, catalogHash, entry, category, retry, recovery, confidence, automatic } =
    classification;
  return runEvent('FailureClassified', {
    runId: run.submission.runId,
    stepIndex: target.stepIndex,
    attempt: target.attempt,
    ...(target.compensation ? { compensation: true as const } : {}),
    errorCode,
    catalogVersion,
    catalogHash,
    entry,
    category,
    retry,
    recovery,
    confidence,
    automatic,
    at,
  });
}

/** Whether the failed attempt is retried as it is: the failure allows it and so does the step's policy. */
function willRetry(run: SubmittedRun, target: Attempt, failure: LastFailure): boolean {
  const planStep = run.submission.plan.steps[target.stepIndex]!;
  if (target.compensation) {
    const counted = target.attempt - (run.compensation?.retryBase ?? 0);
    return shouldRetry(planStep.compensate!.retry, failure.errorCode, counted, failure.retry);
  }
  // Attempts are counted from the last recovery applied to the step: it starts afresh.
  const counted = target.attempt - step(run, target.stepIndex).retryBase;
  return shouldRetry(planStep.retry, failure.errorCode, counted, failure.retry);
}

/** After a failed attempt with no recovery taken: its retry, or the step's (or compensation's) end. */
function afterFailure(
  run: SubmittedRun,
  target: Attempt,
  failure: LastFailure,
  retrying: boolean,
  at: string,
): RunEvent[] {
  const { stepIndex, attempt } = target;
  if (retrying) {
    const planStep = run.submission.plan.steps[stepIndex]!;
    const retry = target.compensation ? planStep.compensate!.retry : planStep.retry;
    const delayMs = scheduledRetryDelayMs(
      retry,
      run.submission.seed,
      stepIndex,
      attempt,
      failure.retryAfterMs,
    );
    return [
      runEvent('RetryScheduled', {
        runId: run.submission.runId,
        stepIndex,
        attempt,
        ...(target.compensation ? { compensation: true as const } : {}),
        nextAttempt: attempt + 1,
        errorCode: failure.errorCode,
        delayMs,
        dueAt: addMs(at, delayMs),
        at,
      }),
    ];
  }
  if (target.compensation) {
    const ended = { errorCode: failure.errorCode, reason: failure.message };
    return compensationEnded(run, target, 'failed', at, ended);
  }
  return stepFailed(run, stepIndex, failure.errorCode, failure.message, at, attempt);
}

/**
 * A recovery for the failed attempt, when it can change something: RecoverySuggested, and the
 * step waits for an operator — or, for an automatic one, RecoveryApplied at once.
 */
function suggestRecovery(
  run: SubmittedRun,
  target: Attempt,
  errorCode: ErrorCode,
  classification: FailureClassification,
  at: string,
): RunEvent[] | undefined {
  const { stepIndex, attempt } = target;
  const change = recoveryChange(run, stepIndex, classification.recovery);
  if (change === undefined) return undefined;
  const recoveryId = recoveryIdFor(run.submission.runId, stepIndex, attempt);
  const suggested = runEvent('RecoverySuggested', {
    runId: run.submission.runId,
    stepIndex,
    attempt,
    recoveryId,
    errorCode,
    recovery: classification.recovery,
    confidence: classification.confidence,
    automatic: classification.automatic,
    change,
    at,
  });
  if (!classification.automatic) return [suggested];
  return [suggested, recoveryApplied(after(run, [suggested]), recoveryId, 'automatic', at)];
}

function recoveryApplied(
  run: SubmittedRun,
  recoveryId: string,
  by: 'operator' | 'automatic',
  at: string,
): RunEvent {
  const record = run.recoveries[recoveryId]!;
  return runEvent('RecoveryApplied', {
    runId: run.submission.runId,
    stepIndex: record.stepIndex,
    recoveryId,
    by,
    recovery: record.recovery,
    change: record.change,
    nextAttempt: record.attempt + 1,
    at,
  });
}

// ---- recoveries ------------------------------------------------------------------------

function decideRecovery(command: DecideRecovery, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const record = run.recoveries[command.recoveryId];
  if (!record) throw new DomainError('NOT_FOUND', `no recovery ${command.recoveryId} in this run`);
  if (!approverRoles.includes(command.actor.role)) {
    throw new DomainError('PERMISSION_DENIED', `role ${command.actor.role} may not decide recoveries`, {
      role: command.actor.role,
      allowedRoles: approverRoles,
    });
  }
  if (record.status !== 'pending') {
    throw new DomainError('CONFLICT', `recovery ${command.recoveryId} is already ${record.status}`, {
      status: record.status,
    });
  }
  const decided = runEvent('RecoveryDecided', {
    runId: run.submission.runId,
    stepIndex: record.stepIndex,
    recoveryId: record.recoveryId,
    decision: command.decision === 'accept' ? 'accepted' : 'rejected',
    actor: command.actor,
    comment: command.comment,
    at,
  });
  const next = after(run, [decided]);
  if (command.decision === 'accept')
    return [decided, recoveryApplied(next, record.recoveryId, 'operator', at)];
  // Rejected: what the failure would have led to without the suggestion.
  const target: Attempt = {
    stepIndex: record.stepIndex,
    attempt: record.attempt,
    phase: step(run, record.stepIndex).phase,
    compensation: false,
  };
  const failure = step(run, record.stepIndex).lastFailure!;
  if (mustEnd(next, at)) return [decided, ...(endWhenIdle(next, at) ?? [])];
  return [decided, ...afterFailure(next, target, failure, willRetry(next, target, failure), at)];
}

function recordWorkerLost(command: RecordWorkerLost, run: SubmittedRun): RunEvent[] {
  const target = attemptFor(run, command.stepIndex, 'in_flight');
  const phase = requirePhase(
    target.stepIndex,
    target.phase,
    target.attempt,
    'in_flight',
    'record a lost worker',
  );
  const latencyMs = Math.max(0, instantMs(command.now) - instantMs(phase.startedAt));
  return recordOutcome(
    {
      type: 'RecordOutcome',
      ...(command.stepIndex === undefined ? {} : { stepIndex: command.stepIndex }),
      outcome: { ok: false, errorCode: 'WORKER_LOST', message: WORKER_LOST_MESSAGE },
      latencyMs,
      ...(command.failureCatalog ? { failureCatalog: command.failureCatalog } : {}),
      now: command.now,
    },
    run,
  );
}

// ---- cancellation ----------------------------------------------------------------------

function requestCancel(command: RequestCancel, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  if (!cancellerRoles.includes(command.actor.role)) {
    throw new DomainError('PERMISSION_DENIED', `role ${command.actor.role} may not cancel runs`, {
      role: command.actor.role,
      allowedRoles: cancellerRoles,
    });
  }
  if (run.cancelRequest) return [];
  return [
    runEvent('RunCancelRequested', {
      runId: run.submission.runId,
      actor: command.actor,
      reason: command.reason,
      at,
    }),
  ];
}

// ---- child runs ------------------------------------------------------------------------

/** The child run of a step's attempt: derived, so a retried start submits the same child. */
export function childRunIdFor(runId: string, stepIndex: number, attempt: number): string {
  return deterministicUuid('child-run', runId, stepIndex, attempt);
}

/** Why a child run may not start here: the tree's depth or the run's fan-out. */
function childLimitReason(run: SubmittedRun, stepIndex: number): string | undefined {
  if (!isChildRunSkill(run.submission.plan.steps[stepIndex]!.skill)) return undefined;
  const depth = (run.submission.parent?.depth ?? 0) + 1;
  if (depth > DEFAULT_MAX_CHILD_DEPTH) {
    return `a child run here would be at depth ${depth}, above the limit of ${DEFAULT_MAX_CHILD_DEPTH}`;
  }
  const started = Object.keys(run.children).length;
  if (started >= DEFAULT_MAX_CHILDREN) {
    return `this run has started ${started} child runs, the limit`;
  }
  return undefined;
}

/** What a child is given of this run's budget: what it asks for, else all that remains. */
export function childBudgetMicros(run: SubmittedRun, stepIndex: number): number {
  const remaining = Math.max(
    0,
    run.submission.budget.maxCostMicros - run.chargedMicros - committedMicros(run, stepIndex),
  );
  const requested = requestedChildBudget(run.submission.plan.steps[stepIndex]!.input);
  return Math.min(requested ?? remaining, remaining);
}

function requireChildStart(run: SubmittedRun, stepIndex: number, childRunId: string, action: string) {
  const current = step(run, stepIndex);
  requirePhase(stepIndex, current.phase, current.attempt, 'ready', action);
  const skill = run.submission.plan.steps[stepIndex]!.skill;
  if (!isChildRunSkill(skill)) {
    throw new DomainError('CONFLICT', `cannot ${action}: step ${stepIndex + 1} calls ${skill}`);
  }
  const expected = childRunIdFor(run.submission.runId, stepIndex, current.attempt);
  if (childRunId !== expected) {
    throw new DomainError('CONFLICT', `cannot ${action}: step ${stepIndex + 1}'s child run is ${expected}`);
  }
  return { current, skill };
}

function startChild(command: StartChild, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const { stepIndex, childRunId } = command;
  const { current, skill } = requireChildStart(run, stepIndex, childRunId, 'start a child run');
  const budgetMicros = childBudgetMicros(run, stepIndex);
  if (command.budgetMicros !== budgetMicros) {
    throw new DomainError(
      'CONFLICT',
      `the child's budget is ${budgetMicros} micros, not ${command.budgetMicros}`,
    );
  }
  const runId = run.submission.runId;
  const mode = skill === 'agent_invoke' ? 'invoke' : 'spawn';
  const agentId = String(resolvedStepInput(run, stepIndex).agentId);
  const started = runEvent('ChildRunStarted', {
    runId,
    stepIndex,
    attempt: current.attempt,
    childRunId,
    mode,
    agentId,
    budgetMicros,
    at,
  });
  if (mode === 'invoke') return [started];
  // Spawned: the step is done at once; the run waits for the child only at its end.
  const completed = runEvent('StepCompleted', {
    runId,
    stepIndex,
    outcome: 'succeeded',
    attempts: current.attempt,
    output: { runId: childRunId },
    at,
  });
  return [started, completed, ...afterStep(after(run, [started, completed]), at)];
}

function recordChildRefused(command: RecordChildRefused, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const { stepIndex, childRunId, errorCode, reason } = command;
  const { current } = requireChildStart(run, stepIndex, childRunId, 'record a refused child run');
  const refused = runEvent('ChildRunRefused', {
    runId: run.submission.runId,
    stepIndex,
    attempt: current.attempt,
    childRunId,
    errorCode,
    reason,
    at,
  });
  const why = `its child run was refused: ${reason}`;
  return [refused, ...stepFailed(after(run, [refused]), stepIndex, errorCode, why, at, current.attempt)];
}

function liveChild(run: SubmittedRun, childRunId: string) {
  const child = run.children[childRunId];
  if (!child) throw new DomainError('NOT_FOUND', `no child run ${childRunId} in this run`);
  if (child.status !== 'running') {
    throw new DomainError('CONFLICT', `child run ${childRunId} has already ended (${child.status})`);
  }
  return child;
}

function recordChildEnded(command: RecordChildEnded, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const child = liveChild(run, command.childRunId);
  const { status, reason, chargedMicros, output } = command;
  const runId = run.submission.runId;
  const { stepIndex } = child;
  const ended = runEvent('ChildRunEnded', {
    runId,
    stepIndex,
    childRunId: child.childRunId,
    status,
    reason,
    chargedMicros,
    output,
    at,
  });
  const next = after(run, [ended]);
  if (child.mode === 'spawn') return [ended, ...afterStep(next, at)];
  const attempts = step(run, stepIndex).attempt;
  if (status !== 'succeeded') {
    const why = `child run ${child.childRunId} ended ${status}: ${reason}`;
    // A child cancelled (by this run ending, or by a person) makes a cancelled step.
    const code = status === 'cancelled' ? 'CANCELLED' : 'CHILD_RUN_FAILED';
    return [ended, ...stepFailed(next, stepIndex, code, why, at, attempts)];
  }
  const completed = runEvent('StepCompleted', {
    runId,
    stepIndex,
    outcome: 'succeeded',
    attempts,
    output: output ?? null,
    at,
  });
  return [ended, completed, ...afterStep(after(next, [completed]), at)];
}

function requestChildCancel(command: RequestChildCancel, run: SubmittedRun): RunEvent[] {
  const child = liveChild(run, command.childRunId);
  if (child.cancelRequested) return [];
  return [
    runEvent('ChildCancelRequested', {
      runId: run.submission.runId,
      stepIndex: child.stepIndex,
      childRunId: child.childRunId,
      at: normalizeInstant(command.now),
    }),
  ];
}
