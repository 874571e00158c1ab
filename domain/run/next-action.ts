// What an executor should do next for a run, from its state and the time: the process
// manager's whole decision table in one pure function, so that the executor is a loop that
// performs the action and reports the observation back as a command.
import type { Micros } from '../money.ts';
import type { StepInput } from '../step-input.ts';
import { instantMs, isoFromMs } from '../time.ts';
import { stepEstimateMicros } from './decide.ts';
import { isSubmitted, type RunState } from './state.ts';
import { type FinalRunStatus, isFinalStatus } from './status.ts';

export type NextAction =
  /** Send EvaluateStep {now}. */
  | { kind: 'evaluate' }
  /** Reserve `estimateMicros` on the tenant day ledger, then StartAttempt or RecordBudgetRefused. */
  | { kind: 'reserve'; stepIndex: number; attempt: number; estimateMicros: Micros; model?: string }
  /** Call the skill, then RecordOutcome (or RecordWorkerLost once the attempt's lease has expired). */
  | {
      kind: 'call';
      stepIndex: number;
      attempt: number;
      skill: string;
      skillVersion?: string;
      input: StepInput;
      reservationId: string;
    }
  /** Nothing to do before `until` (a retry's dueAt, or the deadline if sooner). */
  | { kind: 'wait'; until: string }
  /** A human must approve or reject; nothing to do before `expiresAt`. */
  | { kind: 'await_approval'; approvalId: string; expiresAt: string }
  /** The approval is due: send ExpireApproval {now}. */
  | { kind: 'expire_approval'; approvalId: string }
  | { kind: 'done'; status: FinalRunStatus };

export function nextAction(state: RunState, now: string): NextAction {
  if (!isSubmitted(state)) throw new Error('nextAction: the run does not exist');
  if (isFinalStatus(state.status)) return { kind: 'done', status: state.status };
  const nowMs = instantMs(now);
  const deadlineMs = instantMs(state.submission.deadlineAt);
  // Cancellation and the deadline take effect at any boundary, i.e. whenever no call is out.
  const mustEnd = state.cancelRequest !== null || nowMs >= deadlineMs;
  const phase = state.phase;
  switch (phase.kind) {
    case 'in_flight': {
      const step = state.submission.plan.steps[state.stepIndex]!;
      const action: NextAction = {
        kind: 'call',
        stepIndex: state.stepIndex,
        attempt: state.attempt,
        skill: step.skill,
        input: step.input,
        reservationId: phase.reservationId,
      };
      if (step.skillVersion !== undefined) action.skillVersion = step.skillVersion;
      return action;
    }
    case 'awaiting_approval':
      if (mustEnd) return { kind: 'evaluate' };
      if (nowMs >= instantMs(phase.expiresAt))
        return { kind: 'expire_approval', approvalId: phase.approvalId };
      return { kind: 'await_approval', approvalId: phase.approvalId, expiresAt: phase.expiresAt };
    case 'ready': {
      if (mustEnd) return { kind: 'evaluate' };
      const action: NextAction = {
        kind: 'reserve',
        stepIndex: state.stepIndex,
        attempt: state.attempt,
        estimateMicros: stepEstimateMicros(state),
      };
      const model = state.estimates?.v2.steps[state.stepIndex]?.model;
      if (model !== undefined) action.model = model;
      return action;
    }
    case 'evaluate': {
      if (mustEnd || phase.retryDueAt === undefined) return { kind: 'evaluate' };
      const dueMs = instantMs(phase.retryDueAt);
      if (nowMs >= dueMs) return { kind: 'evaluate' };
      return { kind: 'wait', until: isoFromMs(Math.min(dueMs, deadlineMs)) };
    }
    case 'outcome_recorded':
    case 'done':
      // Not reachable between commands: the outcome's own command moves the run on.
      return { kind: 'evaluate' };
  }
}
