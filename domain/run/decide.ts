// The run decider: decide(command, state) → new events, or a DomainError and nothing.
// A pure function of the state and the command (which carries the observation and `now`);
// see certify.ts for the proof obligation that follows from that.
import { approverRoles, cancellerRoles } from '../actor.ts';
import { DomainError } from '../domain-error.ts';
import { type ErrorCode, errorCodes } from '../errors.ts';
import type { RunEvent } from '../events/run-events.ts';
import { deterministicUuid } from '../hashing.ts';
import { approvalTimeoutMs, evaluatePolicy, type PolicyInput } from '../policy.ts';
import { computeChargeMicros } from '../pricing.ts';
import { scheduledRetryDelayMs, shouldRetry } from '../retry.ts';
import type { SkillOutcome } from '../skill.ts';
import { httpHostOf } from '../step-input.ts';
import { addMs, instantMs, normalizeInstant } from '../time.ts';
import {
  type DecideApproval,
  type EvaluateStep,
  type ExpireApproval,
  type RecordBudgetRefused,
  type RecordOutcome,
  type RecordWorkerLost,
  type RequestCancel,
  type RunCommand,
  type StartAttempt,
  skillOutcomeSchema,
} from './commands.ts';
import { runEvent } from './emit.ts';
import { isSubmitted, type RunState, type SubmittedRun } from './state.ts';
import { type FinalRunStatus, isFinalStatus } from './status.ts';
import { decideSubmitRun } from './submit.ts';

export const WORKER_LOST_MESSAGE = 'worker lost: the attempt lease expired before an outcome was recorded';

export function decide(command: RunCommand, state: RunState): RunEvent[] {
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
    case 'RecordBudgetRefused':
      return recordBudgetRefused(command, state);
    case 'StartAttempt':
      return startAttempt(command, state);
    case 'RecordOutcome':
      return recordOutcome(command, state);
    case 'RecordWorkerLost':
      return recordWorkerLost(command, state);
    case 'RequestCancel':
      return requestCancel(command, state);
  }
}

// ---- helpers ---------------------------------------------------------------------------

function currentStep(run: SubmittedRun) {
  const step = run.submission.plan.steps[run.stepIndex];
  if (!step) throw new DomainError('CONFLICT', `run has no step ${run.stepIndex}`);
  return step;
}

/** The v2 estimate of the current step: the estimate of record for reservations and policy. */
export function stepEstimateMicros(run: SubmittedRun, stepIndex = run.stepIndex): number {
  return run.estimates?.v2.steps[stepIndex]?.costMicros ?? 0;
}

function runCompleted(
  run: SubmittedRun,
  status: FinalRunStatus,
  reason: string,
  at: string,
  extra: { errorCode?: ErrorCode; stepIndex?: number; chargedMicros?: number } = {},
): RunEvent {
  return runEvent('RunCompleted', {
    runId: run.submission.runId,
    status,
    reason,
    errorCode: extra.errorCode,
    stepIndex: extra.stepIndex,
    chargedMicros: extra.chargedMicros ?? run.chargedMicros,
    at,
  });
}

/** The final status of a run ended by a failed step, by the failure's code. */
function statusForFailure(errorCode: ErrorCode): FinalRunStatus {
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

/** After a step ended: the run ends if it was the last step; otherwise the next step is up. */
function afterStep(run: SubmittedRun, stepIndex: number, at: string, chargedMicros: number): RunEvent[] {
  if (stepIndex < run.submission.plan.steps.length - 1) return [];
  const failed = run.stepResults.filter((result) => result?.outcome === 'failed').length;
  const reason =
    failed === 0 ? 'all steps succeeded' : `all steps done; ${failed} failed step(s) were continued`;
  return [runCompleted(run, 'succeeded', reason, at, { chargedMicros })];
}

/** A step that ended in failure: StepCompleted, then the run ends unless the step may continue. */
function stepFailed(
  run: SubmittedRun,
  errorCode: ErrorCode,
  reason: string,
  at: string,
  attempts: number,
  chargedMicros = run.chargedMicros,
): RunEvent[] {
  const stepIndex = run.stepIndex;
  const completed = runEvent('StepCompleted', {
    runId: run.submission.runId,
    stepIndex,
    outcome: 'failed',
    attempts,
    errorCode,
    reason,
    at,
  });
  if (currentStep(run).onFailure === 'continue') {
    const counted = { ...run, stepResults: withResult(run, stepIndex, 'failed', attempts) };
    return [completed, ...afterStep(counted, stepIndex, at, chargedMicros)];
  }
  return [
    completed,
    runCompleted(run, statusForFailure(errorCode), `step ${stepIndex} failed: ${reason}`, at, {
      errorCode,
      stepIndex,
      chargedMicros,
    }),
  ];
}

function withResult(run: SubmittedRun, stepIndex: number, outcome: 'succeeded' | 'failed', attempts: number) {
  const results = [...run.stepResults];
  results[stepIndex] = { outcome, attempts };
  return results;
}

function requirePhase<K extends SubmittedRun['phase']['kind']>(
  run: SubmittedRun,
  kind: K,
  action: string,
): Extract<SubmittedRun['phase'], { kind: K }> {
  if (run.phase.kind !== kind) {
    throw new DomainError(
      'CONFLICT',
      `cannot ${action}: step ${run.stepIndex} attempt ${run.attempt} is ${run.phase.kind}`,
      {
        phase: run.phase.kind,
      },
    );
  }
  return run.phase as Extract<SubmittedRun['phase'], { kind: K }>;
}

// ---- EvaluateStep ----------------------------------------------------------------------

function policyInput(run: SubmittedRun): PolicyInput {
  const step = currentStep(run);
  const input: PolicyInput = {
    runId: run.submission.runId,
    tenantId: run.submission.tenantId,
    agentId: run.submission.agentId,
    stepIndex: run.stepIndex,
    attempt: run.attempt,
    skill: step.skill,
    sideEffecting: step.sideEffecting,
    estimateMicros: stepEstimateMicros(run),
    approvalGranted: run.approvedSteps.includes(run.stepIndex),
  };
  if (step.skillVersion !== undefined) input.skillVersion = step.skillVersion;
  const host = step.skill === 'http_call' ? httpHostOf(step.input) : undefined;
  if (host !== undefined) input.httpHost = host;
  return input;
}

/** Ends the run at a step boundary when it was cancelled or ran out of time; otherwise nothing. */
function boundaryEnd(run: SubmittedRun, at: string): RunEvent[] {
  if (run.cancelRequest) {
    const { actor, reason } = run.cancelRequest;
    return [
      runCompleted(run, 'cancelled', `cancelled by ${actor.id}: ${reason}`, at, { errorCode: 'CANCELLED' }),
    ];
  }
  if (instantMs(at) >= instantMs(run.submission.deadlineAt)) {
    return [
      runCompleted(run, 'timed_out', `deadline ${run.submission.deadlineAt} passed`, at, {
        errorCode: 'TIMEOUT',
      }),
    ];
  }
  return [];
}

function evaluateStep(command: EvaluateStep, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  if (run.phase.kind === 'in_flight') {
    throw new DomainError('CONFLICT', `step ${run.stepIndex} attempt ${run.attempt} is in flight`);
  }
  const ended = boundaryEnd(run, at);
  if (ended.length > 0) return ended;
  if (run.phase.kind !== 'evaluate') return [];
  if (run.phase.retryDueAt !== undefined && instantMs(at) < instantMs(run.phase.retryDueAt)) return [];

  const runId = run.submission.runId;
  const estimate = stepEstimateMicros(run);
  const { maxCostMicros } = run.submission.budget;
  if (run.chargedMicros + estimate > maxCostMicros) {
    const remainingMicros = Math.max(0, maxCostMicros - run.chargedMicros);
    return [
      runEvent('BudgetExceeded', {
        runId,
        stepIndex: run.stepIndex,
        attempt: run.attempt,
        scope: 'run',
        requestedMicros: estimate,
        remainingMicros,
        at,
      }),
      runCompleted(
        run,
        'budget_exceeded',
        `step ${run.stepIndex} needs ${estimate} micros; ${remainingMicros} of the run's ${maxCostMicros} remain`,
        at,
        { errorCode: 'BUDGET_EXCEEDED', stepIndex: run.stepIndex },
      ),
    ];
  }

  const input = policyInput(run);
  const decision = evaluatePolicy(run.submission.policy, input);
  const decided = runEvent('PolicyDecided', {
    runId,
    stepIndex: run.stepIndex,
    attempt: run.attempt,
    ...decision,
    input,
    at,
  });
  switch (decision.result) {
    case 'allow':
      return [decided];
    case 'deny':
      return [decided, ...stepFailed(run, 'POLICY_DENIED', decision.reason, at, run.attempt - 1)];
    case 'require_approval':
      return [
        decided,
        runEvent('ApprovalRequested', {
          runId,
          stepIndex: run.stepIndex,
          attempt: run.attempt,
          approvalId: approvalIdFor(runId, run.stepIndex),
          decisionId: decision.decisionId,
          reason: decision.reason,
          expiresAt: addMs(at, approvalTimeout(run)),
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

// ---- approvals -------------------------------------------------------------------------

function decideApproval(command: DecideApproval, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  if (!approverRoles.includes(command.actor.role)) {
    throw new DomainError('PERMISSION_DENIED', `role ${command.actor.role} may not decide approvals`, {
      role: command.actor.role,
      allowedRoles: approverRoles,
    });
  }
  const approval = run.approvals[command.approvalId];
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
  return [
    runEvent('ApprovalRejected', data),
    ...stepFailed(run, 'POLICY_DENIED', reason, at, run.attempt - 1),
  ];
}

function expireApproval(command: ExpireApproval, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const phase = requirePhase(run, 'awaiting_approval', 'expire an approval');
  if (instantMs(at) < instantMs(phase.expiresAt)) {
    throw new DomainError(
      'CONFLICT',
      `approval ${phase.approvalId} is not due to expire until ${phase.expiresAt}`,
      {
        expiresAt: phase.expiresAt,
      },
    );
  }
  return [
    runEvent('ApprovalExpired', {
      runId: run.submission.runId,
      stepIndex: run.stepIndex,
      approvalId: phase.approvalId,
      expiresAt: phase.expiresAt,
      at,
    }),
    ...stepFailed(run, 'TIMEOUT', `approval expired at ${phase.expiresAt}`, at, run.attempt - 1),
  ];
}

// ---- attempts --------------------------------------------------------------------------

function recordBudgetRefused(command: RecordBudgetRefused, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  requirePhase(run, 'ready', 'record a budget refusal');
  const scope = command.scope ?? 'tenant_day';
  return [
    runEvent('BudgetExceeded', {
      runId: run.submission.runId,
      stepIndex: run.stepIndex,
      attempt: run.attempt,
      scope,
      reservationId: command.reservationId,
      requestedMicros: command.requestedMicros,
      remainingMicros: command.remainingMicros,
      at,
    }),
    runCompleted(
      run,
      'budget_exceeded',
      `the ${scope === 'tenant_day' ? "tenant's day budget" : 'model cap'} refused ${command.requestedMicros} micros; ${command.remainingMicros} remain`,
      at,
      { errorCode: 'BUDGET_EXCEEDED', stepIndex: run.stepIndex },
    ),
  ];
}

function startAttempt(command: StartAttempt, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  requirePhase(run, 'ready', 'start an attempt');
  if (run.cancelRequest || instantMs(at) >= instantMs(run.submission.deadlineAt)) {
    throw new DomainError(
      'CONFLICT',
      'the run must end at this boundary (cancelled or past its deadline): evaluate it',
    );
  }
  const step = currentStep(run);
  return [
    runEvent('SkillCallStarted', {
      runId: run.submission.runId,
      stepIndex: run.stepIndex,
      attempt: run.attempt,
      skill: step.skill,
      skillVersion: step.skillVersion,
      reservationId: command.reservationId,
      reservedMicros: command.reservedMicros,
      estimateMicros: command.estimateMicros,
      at,
    }),
  ];
}

function consumed(outcome: SkillOutcome): boolean {
  const usage = outcome.usage;
  const tokens = usage ? usage.inputTokens + usage.outputTokens + usage.cachedInputTokens : 0;
  return tokens > 0 || (outcome.providerCostMicros ?? 0) > 0;
}

function recordOutcome(command: RecordOutcome, run: SubmittedRun): RunEvent[] {
  const at = normalizeInstant(command.now);
  const phase = requirePhase(run, 'in_flight', 'record an outcome');
  const parsed = skillOutcomeSchema.safeParse(command.outcome);
  if (!parsed.success) {
    throw new DomainError('INVALID_INPUT', 'malformed skill outcome', { issues: parsed.error.issues });
  }
  const outcome = command.outcome;
  const latencyMs = Math.max(0, Math.round(command.latencyMs));
  const { runId, priceTable, seed } = run.submission;
  const { stepIndex, attempt } = run;
  const events: RunEvent[] = [
    outcome.ok
      ? runEvent('SkillCallSucceeded', { runId, stepIndex, attempt, output: outcome.output, latencyMs, at })
      : runEvent('SkillCallFailed', {
          runId,
          stepIndex,
          attempt,
          errorCode: outcome.errorCode,
          category: errorCodes[outcome.errorCode].category,
          retryable: errorCodes[outcome.errorCode].retryable,
          message: outcome.message,
          retryAfterMs: outcome.retryAfterMs,
          latencyMs,
          at,
        }),
  ];

  let chargedMicros = run.chargedMicros;
  if (consumed(outcome)) {
    const computedMicros = outcome.usage ? computeChargeMicros(outcome.usage, priceTable) : 0;
    const charge = Math.max(computedMicros, outcome.providerCostMicros ?? 0);
    chargedMicros += charge;
    events.push(
      runEvent('CostCharged', {
        runId,
        stepIndex,
        attempt,
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

  if (outcome.ok) {
    events.push(
      runEvent('StepCompleted', {
        runId,
        stepIndex,
        outcome: 'succeeded',
        attempts: attempt,
        output: outcome.output,
        at,
      }),
    );
    const counted = { ...run, stepResults: withResult(run, stepIndex, 'succeeded', attempt) };
    events.push(...afterStep(counted, stepIndex, at, chargedMicros));
    return events;
  }

  const step = currentStep(run);
  if (shouldRetry(step.retry, outcome.errorCode, attempt)) {
    const delayMs = scheduledRetryDelayMs(step.retry, seed, stepIndex, attempt, outcome.retryAfterMs);
    events.push(
      runEvent('RetryScheduled', {
        runId,
        stepIndex,
        attempt,
        nextAttempt: attempt + 1,
        errorCode: outcome.errorCode,
        delayMs,
        dueAt: addMs(at, delayMs),
        at,
      }),
    );
    return events;
  }
  return [...events, ...stepFailed(run, outcome.errorCode, outcome.message, at, attempt, chargedMicros)];
}

function recordWorkerLost(command: RecordWorkerLost, run: SubmittedRun): RunEvent[] {
  const phase = requirePhase(run, 'in_flight', 'record a lost worker');
  const latencyMs = Math.max(0, instantMs(command.now) - instantMs(phase.startedAt));
  return recordOutcome(
    {
      type: 'RecordOutcome',
      outcome: { ok: false, errorCode: 'WORKER_LOST', message: WORKER_LOST_MESSAGE },
      latencyMs,
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
