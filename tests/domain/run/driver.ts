// A scripted executor for tests: follows nextAction, performs the action against a script
// (budget answers, skill outcomes, approval decisions, a cancel) and reports back with
// commands, advancing a fake clock. It yields real recorded histories for certification.
import type { Actor } from '../../../domain/actor.ts';
import type { RunEvent } from '../../../domain/events/run-events.ts';
import type { RunCommand, SubmitRun } from '../../../domain/run/commands.ts';
import { decide } from '../../../domain/run/decide.ts';
import { nextAction } from '../../../domain/run/next-action.ts';
import { evolve, initialState, type RunState } from '../../../domain/run/state.ts';
import type { SkillOutcome } from '../../../domain/skill.ts';

export type ScriptedOutcome = SkillOutcome | 'worker_lost';

export interface Script {
  /** Remaining tenant-day budget for a reservation, or undefined for plenty. */
  budgetRemaining?: (stepIndex: number, attempt: number) => number | undefined;
  outcome: (stepIndex: number, attempt: number) => ScriptedOutcome;
  /** A compensation's outcome; succeeds unless told otherwise. */
  compensation?: (stepIndex: number, attempt: number) => ScriptedOutcome;
  approval?: (approvalId: string) => 'approve' | 'reject' | 'expire' | 'cancel';
  /** Request a cancel before the n-th action. */
  cancelBeforeAction?: number;
  /** Milliseconds the clock advances per action. */
  tickMs?: number;
  leaseMs?: number;
}

const operator: Actor = { id: 'op-1', role: 'operator' };

export interface Drive {
  events: RunEvent[];
  commands: RunCommand[];
  state: RunState;
}

export function drive(submission: SubmitRun, script: Script, maxActions = 500): Drive {
  const events: RunEvent[] = [];
  const commands: RunCommand[] = [];
  let state: RunState = initialState;
  let nowMs = Date.parse(submission.now);
  const now = () => new Date(nowMs).toISOString();
  const apply = (command: RunCommand) => {
    const produced = decide(command, state);
    commands.push(command);
    for (const event of produced) {
      events.push(event);
      state = evolve(state, event);
    }
  };

  apply(submission);
  for (let index = 0; index < maxActions; index++) {
    nowMs += script.tickMs ?? 1_000;
    if (index === script.cancelBeforeAction && nextAction(state, now()).kind !== 'done') {
      apply({ type: 'RequestCancel', actor: operator, reason: 'scripted cancel', now: now() });
    }
    const action = nextAction(state, now());
    switch (action.kind) {
      case 'done':
        return { events, commands, state };
      case 'evaluate':
        apply({
          type: 'EvaluateStep',
          ...(action.stepIndex === undefined ? {} : { stepIndex: action.stepIndex }),
          now: now(),
        });
        break;
      case 'reserve': {
        const target = action.compensation ? {} : { stepIndex: action.stepIndex };
        const reservationId = `res-${action.stepIndex}-${action.attempt}${action.compensation ? '-c' : ''}`;
        const remaining = script.budgetRemaining?.(action.stepIndex, action.attempt);
        if (remaining !== undefined && remaining < action.estimateMicros) {
          apply({
            type: 'RecordBudgetRefused',
            ...target,
            reservationId,
            requestedMicros: action.estimateMicros,
            remainingMicros: remaining,
            now: now(),
          });
        } else {
          const estimateMicros = action.estimateMicros;
          apply({
            type: 'StartAttempt',
            ...target,
            reservationId,
            reservedMicros: estimateMicros,
            estimateMicros,
            now: now(),
          });
        }
        break;
      }
      case 'call': {
        const target = action.compensation ? {} : { stepIndex: action.stepIndex };
        const outcome = action.compensation
          ? (script.compensation?.(action.stepIndex, action.attempt) ?? { ok: true, output: 'undone' })
          : script.outcome(action.stepIndex, action.attempt);
        if (outcome === 'worker_lost') {
          nowMs += script.leaseMs ?? 30_000;
          apply({ type: 'RecordWorkerLost', ...target, now: now() });
        } else {
          apply({ type: 'RecordOutcome', ...target, outcome, latencyMs: 250, now: now() });
        }
        break;
      }
      case 'wait':
        nowMs = Date.parse(action.until);
        break;
      case 'await_approval': {
        const decision = script.approval?.(action.approvalId) ?? 'approve';
        if (decision === 'expire') nowMs = Date.parse(action.expiresAt);
        else if (decision === 'cancel') {
          apply({ type: 'RequestCancel', actor: operator, reason: 'cancelled while waiting', now: now() });
        } else
          apply({
            type: 'DecideApproval',
            approvalId: action.approvalId,
            decision,
            actor: operator,
            now: now(),
          });
        break;
      }
      case 'expire_approval':
        apply({ type: 'ExpireApproval', stepIndex: action.stepIndex, now: now() });
        break;
    }
  }
  throw new Error(`run did not finish within ${maxActions} actions`);
}
