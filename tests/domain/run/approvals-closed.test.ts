// Given/when/then specs of ApprovalClosed: an approval still pending when its run ends is
// closed by the command that ends the run, with the reason the run ended, just before its
// RunCompleted (which stays the run's last event).
import { describe, expect, it } from 'vitest';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { approvalIdFor } from '../../../domain/run/decide.ts';
import { foldRun, isSubmitted } from '../../../domain/run/state.ts';
import { at, evaluate, history, llmStep, operator, spec, submit } from './fixtures.ts';

const approvalPolicy = { version: 'appr-1', rules: { requireApprovalSkills: ['llm_invoke'] } };
const approvalId = approvalIdFor('run-1', 0);
const cancel: RunCommand = { type: 'RequestCancel', actor: operator, reason: 'stop', now: at(1_500) };
const cancelledWhileWaiting = history(submit({ policy: approvalPolicy }), evaluate(1_000), cancel);

describe('ApprovalClosed', () => {
  it('a cancel that ends a run waiting for approval closes the approval: run_cancelled', () => {
    const events = spec
      .given(cancelledWhileWaiting)
      .when(evaluate(1_600))
      .thenMatches([
        {
          type: 'ApprovalClosed',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            approvalId,
            reason: 'run_cancelled',
            runStatus: 'cancelled',
            at: at(1_600),
          },
        },
        { type: 'RunCompleted', data: { status: 'cancelled' } },
      ]);
    const state = foldRun([...cancelledWhileWaiting, ...events]);
    expect(isSubmitted(state) && state.approvals[approvalId]?.status).toBe('closed');
  });

  it('a deadline that passes while waiting closes it: run_failed, the run timed out', () => {
    spec
      .given(
        history(
          submit({ policy: approvalPolicy, budget: { maxCostMicros: 2_000_000, deadlineMs: 5_000 } }),
          evaluate(1_000),
        ),
      )
      .when(evaluate(6_000))
      .thenMatches([
        { type: 'ApprovalClosed', data: { approvalId, reason: 'run_failed', runStatus: 'timed_out' } },
        { type: 'RunCompleted', data: { status: 'timed_out' } },
      ]);
  });

  it('a parallel branch that fails the run closes the approval another branch waits for', () => {
    const steps = [
      { id: 'ask', ...llmStep, dependsOn: [] },
      { id: 'transform', skill: 'json_transform', input: { expression: '@', data: 1 }, dependsOn: [] },
    ];
    const given = history(
      submit({ plan: { steps } as never, policy: approvalPolicy }),
      { type: 'EvaluateStep', stepIndex: 0, now: at(1) },
      { type: 'EvaluateStep', stepIndex: 1, now: at(2) },
      {
        type: 'StartAttempt',
        stepIndex: 1,
        reservationId: 'r',
        reservedMicros: 0,
        estimateMicros: 0,
        now: at(3),
      },
    );
    spec
      .given(given)
      .when({
        type: 'RecordOutcome',
        stepIndex: 1,
        outcome: { ok: false, errorCode: 'HTTP_4XX', message: 'no' },
        latencyMs: 1,
        now: at(4),
      })
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'StepCompleted', data: { stepIndex: 1, outcome: 'failed' } },
        {
          type: 'ApprovalClosed',
          data: {
            approvalId: approvalIdFor('run-1', 0),
            stepIndex: 0,
            reason: 'run_failed',
            runStatus: 'failed',
          },
        },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
  });

  it('closes nothing that was decided, and nothing when no approval was asked', () => {
    const rejected = history(submit({ policy: approvalPolicy }), evaluate(1_000), {
      type: 'DecideApproval',
      approvalId,
      decision: 'reject',
      actor: operator,
      now: at(1_100),
    });
    expect(rejected.map((event) => event.type)).toEqual([
      'RunSubmitted',
      'RunEstimated',
      'PolicyDecided',
      'ApprovalRequested',
      'ApprovalRejected',
      'StepCompleted',
      'RunCompleted',
    ]);
    spec
      .given(history(submit(), cancel))
      .when(evaluate(1_600))
      .thenMatches([{ type: 'RunCompleted', data: { status: 'cancelled' } }]);
  });

  it('a run whose approval was closed certifies', () => {
    const events = history(submit({ policy: approvalPolicy }), evaluate(1_000), cancel, evaluate(1_600));
    expect(events.slice(-2).map((event) => event.type)).toEqual(['ApprovalClosed', 'RunCompleted']);
    expect(certifyRun(events)).toMatchObject({ certified: true });
  });
});
