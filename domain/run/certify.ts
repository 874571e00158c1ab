// Determinism certification. A run's events record every observation the decider was given
// (skill outcomes, budget refusals, approvals, cancel requests) and every clock reading
// (`at`). `observationsFromEvents` turns the recorded events back into the commands that
// produced them; folding `decide` over those commands from `initialState` must reproduce the
// recorded events exactly. `certifyRun` does that and reports the first mismatch.
import { DomainError } from '../domain-error.ts';
import type { RunEvent } from '../events/run-events.ts';
import type { HashedFailureCatalog } from '../failure-catalog.ts';
import { canonicalJson } from '../hashing.ts';
import type { SkillOutcome } from '../skill.ts';
import type { RunCommand } from './commands.ts';
import { decide } from './decide.ts';
import { evolve, initialState, type RunState } from './state.ts';

/** The step an attempt command names; a compensation's commands name none (there is one at a time). */
function stepOf(data: { stepIndex: number; compensation?: true }): { stepIndex?: number } {
  return data.compensation ? {} : { stepIndex: data.stepIndex };
}

/** Usage and provider amount of an outcome live in the CostCharged that follows it, if any. */
function chargeAfter(
  events: readonly RunEvent[],
  index: number,
  stepIndex: number,
  attempt: number,
  compensation: true | undefined,
) {
  const next = events[index + 1];
  // A compensation's attempt and the step's own share step and attempt numbers; the flag tells them apart.
  const sameKind = (next?.data as { compensation?: true } | undefined)?.compensation === compensation;
  if (
    next?.type === 'CostCharged' &&
    next.data.stepIndex === stepIndex &&
    next.data.attempt === attempt &&
    sameKind
  ) {
    return next.data;
  }
  return undefined;
}

/**
 * The catalog a failed attempt was classified by, as far as its FailureClassified shows it: the
 * version, hash and the entry that matched (none: the taxonomy decided). Re-deciding with it
 * checks that the entry matches the failure and re-derives everything that follows from it.
 */
function catalogAfter(
  events: readonly RunEvent[],
  index: number,
  stepIndex: number,
  attempt: number,
  compensation: true | undefined,
): HashedFailureCatalog | undefined {
  // Right after the SkillCallFailed, or after its CostCharged.
  for (const next of events.slice(index + 1, index + 3)) {
    if (
      next.type === 'FailureClassified' &&
      next.data.stepIndex === stepIndex &&
      next.data.attempt === attempt &&
      next.data.compensation === compensation
    ) {
      const { catalogVersion, catalogHash, entry } = next.data;
      return { version: catalogVersion, hash: catalogHash, entries: entry ? [entry] : [] };
    }
  }
  return undefined;
}

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined) (base as Record<string, unknown>)[key] = value;
  }
  return base;
}

/** The command that produced the event at `index` (the first of that command's events). */
export function commandFor(events: readonly RunEvent[], index: number): RunCommand {
  const event = events[index]!;
  switch (event.type) {
    case 'RunSubmitted': {
      const { runId, tenantId, agentId, plan, input, budget, seed, policy, priceTable } = event.data;
      const { planningMicros, parent, estimateBasis, at } = event.data;
      event.data;
      const submit: RunCommand = {
        type: 'SubmitRun',
        runId,
        tenantId,
        agentId,
        plan,
        budget,
        seed,
        policy,
        priceTable,
        now: at,
      };
      return withOptional(submit, { input, parent, planningMicros, estimateBasis });
    }
    case 'PolicyDecided':
    case 'StepSkipped':
    case 'StepCompleted':
      // StepCompleted first: a step whose references could not be resolved when evaluated.
      return { type: 'EvaluateStep', stepIndex: event.data.stepIndex, now: event.data.at };
    case 'BudgetExceeded':
      if (event.data.scope === 'run') {
        return { type: 'EvaluateStep', stepIndex: event.data.stepIndex, now: event.data.at };
      }
      return {
        type: 'RecordBudgetRefused',
        ...stepOf(event.data),
        reservationId: event.data.reservationId ?? '',
        requestedMicros: event.data.requestedMicros,
        remainingMicros: event.data.remainingMicros,
        scope: event.data.scope,
        now: event.data.at,
      };
    case 'CompensationRequested':
    case 'ApprovalClosed':
    case 'RunCompleted':
      // Alone (not after StepCompleted or BudgetExceeded of the same command): a cancel or
      // deadline that took effect at a step boundary (closing the approvals still pending first).
      return { type: 'EvaluateStep', now: event.data.at };
    case 'ApprovalGranted':
    case 'ApprovalRejected':
      return withOptional(
        {
          type: 'DecideApproval',
          approvalId: event.data.approvalId,
          decision: event.type === 'ApprovalGranted' ? 'approve' : 'reject',
          actor: event.data.actor,
          now: event.data.at,
        },
        { comment: event.data.comment },
      );
    case 'ApprovalExpired':
      return { type: 'ExpireApproval', stepIndex: event.data.stepIndex, now: event.data.at };
    case 'ApprovalEscalated':
      return { type: 'EscalateApproval', stepIndex: event.data.stepIndex, now: event.data.at };
    case 'SkillCallStarted': {
      const { reservationId, reservedMicros, estimateMicros, at } = event.data;
      return {
        type: 'StartAttempt',
        ...stepOf(event.data),
        reservationId,
        reservedMicros,
        estimateMicros,
        now: at,
      };
    }
    case 'SkillCallSucceeded': {
      const { stepIndex, attempt, latencyMs, at } = event.data;
      const charge = chargeAfter(events, index, stepIndex, attempt, event.data.compensation);
      const outcome = withOptional({ ok: true } as SkillOutcome, {
        output: event.data.output,
        usage: charge?.usage,
        providerCostMicros: charge?.providerMicros,
      });
      return { type: 'RecordOutcome', ...stepOf(event.data), outcome, latencyMs, now: at };
    }
    case 'SkillCallFailed': {
      const { stepIndex, attempt, errorCode, message, retryAfterMs, httpStatus, latencyMs, at } = event.data;
      const charge = chargeAfter(events, index, stepIndex, attempt, event.data.compensation);
      const outcome = withOptional({ ok: false, errorCode, message } as SkillOutcome, {
        retryAfterMs,
        httpStatus,
        usage: charge?.usage,
        providerCostMicros: charge?.providerMicros,
      });
      const failureCatalog = catalogAfter(events, index, stepIndex, attempt, event.data.compensation);
      return withOptional(
        { type: 'RecordOutcome', ...stepOf(event.data), outcome, latencyMs, now: at } as RunCommand,
        { failureCatalog },
      );
    }
    case 'RecoveryDecided':
      return withOptional(
        {
          type: 'DecideRecovery',
          recoveryId: event.data.recoveryId,
          decision: event.data.decision === 'accepted' ? 'accept' : 'reject',
          actor: event.data.actor,
          now: event.data.at,
        } as RunCommand,
        { comment: event.data.comment },
      );
    case 'ChildRunStarted':
      return {
        type: 'StartChild',
        stepIndex: event.data.stepIndex,
        childRunId: event.data.childRunId,
        budgetMicros: event.data.budgetMicros,
        now: event.data.at,
      };
    case 'ChildRunRefused': {
      const { stepIndex, childRunId, errorCode, reason, at } = event.data;
      return { type: 'RecordChildRefused', stepIndex, childRunId, errorCode, reason, now: at };
    }
    case 'ChildRunEnded': {
      const { childRunId, status, reason, chargedMicros, output, at } = event.data;
      return withOptional(
        { type: 'RecordChildEnded', childRunId, status, reason, chargedMicros, now: at },
        { output },
      );
    }
    case 'ChildCancelRequested':
      return { type: 'RequestChildCancel', childRunId: event.data.childRunId, now: event.data.at };
    case 'RunPaused':
      return {
        type: 'PauseRun',
        stop: { tenantId: event.data.stopTenantId, at: event.data.stoppedAt },
        now: event.data.at,
      };
    case 'RunResumed':
      return { type: 'ResumeRun', now: event.data.at };
    case 'RunCancelRequested':
      return {
        type: 'RequestCancel',
        actor: event.data.actor,
        reason: event.data.reason,
        now: event.data.at,
      };
    default:
      throw new DomainError(
        'CONFLICT',
        `event ${index} (${event.type}) cannot be the first event of a command`,
        {
          position: index,
          type: event.type,
        },
      );
  }
}

export interface ObservedCommand {
  command: RunCommand;
  /** Position of the first recorded event this command produced. */
  position: number;
  /** How many recorded events it produced. */
  count: number;
}

/**
 * Reconstructs the command sequence behind a run's events. Which events belong to one
 * command is found by deciding each reconstructed command against the state folded from the
 * recorded events so far; the state always advances by the recorded events, never the
 * reproduced ones, so a mismatch cannot cascade. Throws when a command cannot be rebuilt or
 * is refused; `certifyRun` turns that into a report.
 */
export function observationsFromEvents(events: readonly RunEvent[]): RunCommand[] {
  return observe(events).map((observed) => observed.command);
}

export function observe(events: readonly RunEvent[]): ObservedCommand[] {
  const observed: ObservedCommand[] = [];
  let state: RunState = initialState;
  let position = 0;
  while (position < events.length) {
    const command = commandFor(events, position);
    const count = Math.max(1, decideAt(command, state, position).length);
    observed.push({ command, position, count });
    for (const event of events.slice(position, position + count)) state = evolve(state, event);
    position += count;
  }
  return observed;
}

function decideAt(command: RunCommand, state: RunState, position: number) {
  try {
    return decide(command, state);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DomainError(
      'CONFLICT',
      `the ${command.type} rebuilt from event ${position} was refused: ${reason}`,
      {
        position,
        command,
      },
    );
  }
}

/** Folds `decide` over commands from the initial state and returns every event produced. */
export function replayCommands(commands: readonly RunCommand[]): RunEvent[] {
  const produced: RunEvent[] = [];
  let state: RunState = initialState;
  for (const command of commands) {
    for (const event of decide(command, state)) {
      produced.push(event);
      state = evolve(state, event);
    }
  }
  return produced;
}

export type CertificationResult =
  | { certified: true; events: number; commands: number }
  | {
      certified: false;
      /** Index of the first recorded event that was not reproduced. */
      position: number;
      expected: RunEvent | undefined;
      actual: RunEvent | undefined;
      diff: string[];
      reason: string;
    };

/** Paths where two JSON values differ, e.g. `data.chargedMicros: 120 ≠ 130`. */
export function jsonDiff(expected: unknown, actual: unknown, path = ''): string[] {
  if (canonicalJson(expected ?? null) === canonicalJson(actual ?? null)) return [];
  const bothObjects =
    typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null;
  if (!bothObjects || Array.isArray(expected) !== Array.isArray(actual)) {
    return [`${path || '(root)'}: ${canonicalJson(expected ?? null)} ≠ ${canonicalJson(actual ?? null)}`];
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].sort().flatMap((key) => {
    const left = (expected as Record<string, unknown>)[key];
    const right = (actual as Record<string, unknown>)[key];
    return jsonDiff(left, right, path ? `${path}.${key}` : key);
  });
}

/** Re-derives a run's events from its recorded observations and compares them, event by event. */
export function certifyRun(events: readonly RunEvent[]): CertificationResult {
  let commands: ObservedCommand[];
  try {
    commands = observe(events);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const position =
      error instanceof DomainError && typeof error.details.position === 'number' ? error.details.position : 0;
    return { certified: false, position, expected: events[position], actual: undefined, diff: [], reason };
  }
  let reproduced: RunEvent[];
  try {
    reproduced = replayCommands(commands.map((observed) => observed.command));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { certified: false, position: 0, expected: events[0], actual: undefined, diff: [], reason };
  }
  const length = Math.max(events.length, reproduced.length);
  for (let position = 0; position < length; position++) {
    const expected = events[position];
    const actual = reproduced[position];
    const diff = jsonDiff(expected, actual);
    if (diff.length > 0) {
      return { certified: false, position, expected, actual, diff, reason: `event ${position} differs` };
    }
  }
  return { certified: true, events: events.length, commands: commands.length };
}
