import { describe, expect, it } from 'vitest';
import { approvalIdFor } from '../../../domain/run/decide.ts';
import { nextAction } from '../../../domain/run/next-action.ts';
import { foldRun } from '../../../domain/run/state.ts';
import { at, evaluate, fail, history, operator, start, submit, succeed, transformStep } from './fixtures.ts';

const stateOf = (...commands: Parameters<typeof history>) => foldRun(history(...commands));
const approvalPolicy = { version: 'appr-1', rules: { requireApprovalSkills: ['llm_invoke'] } };

describe('nextAction', () => {
  it('walks a run: evaluate → reserve → call → evaluate … → done', () => {
    expect(nextAction(stateOf(submit()), at(1))).toEqual({ kind: 'evaluate', stepIndex: 0 });
    expect(nextAction(stateOf(submit(), evaluate(1)), at(2))).toEqual({
      kind: 'reserve',
      stepIndex: 0,
      attempt: 1,
      estimateMicros: 21,
      model: 'stub',
    });
    expect(nextAction(stateOf(submit(), evaluate(1), start(2, 'res-9')), at(3))).toEqual({
      kind: 'call',
      stepIndex: 0,
      attempt: 1,
      skill: 'llm_invoke',
      input: { model: 'stub', prompt: 'Summarise X', maxTokens: 100 },
      seed: 7,
      reservationId: 'res-9',
    });
    expect(nextAction(stateOf(submit(), evaluate(1), start(2), succeed(3)), at(4))).toEqual({
      kind: 'evaluate',
      stepIndex: 1,
    });
    const finished = stateOf(submit(), evaluate(1), start(2), succeed(3), evaluate(4), start(5), succeed(6));
    expect(nextAction(finished, at(7))).toEqual({ kind: 'done', status: 'succeeded' });
    expect(
      nextAction(stateOf(submit({ plan: { steps: [transformStep] } }), evaluate(1)), at(2)),
    ).toMatchObject({
      kind: 'reserve',
      estimateMicros: 0,
    });
  });

  it('waits for a scheduled retry, but not past the deadline', () => {
    const retrying = stateOf(submit(), evaluate(1_000), start(2_000), fail(3_000, 'TIMEOUT'));
    const action = nextAction(retrying, at(3_000));
    expect(action.kind).toBe('wait');
    const until = action.kind === 'wait' ? Date.parse(action.until) : 0;
    expect(until).toBeGreaterThan(Date.parse(at(3_000)));
    expect(nextAction(retrying, new Date(until).toISOString())).toEqual({ kind: 'evaluate', stepIndex: 0 });

    const tight = stateOf(
      submit({ budget: { maxCostMicros: 2_000_000, deadlineMs: 3_100 } }),
      evaluate(1_000),
      start(2_000),
      fail(3_000, 'TIMEOUT'),
    );
    expect(nextAction(tight, at(3_000))).toEqual({ kind: 'wait', until: at(3_100) });
    expect(nextAction(tight, at(3_100))).toEqual({ kind: 'evaluate' });
  });

  it('awaits an approval until it expires', () => {
    const policy = { version: 'a', rules: { ...approvalPolicy.rules, approvalTimeoutMs: 60_000 } };
    const waiting = stateOf(submit({ policy }), evaluate(1_000));
    const approvalId = approvalIdFor('run-1', 0);
    const expiresAt = at(61_000);
    expect(nextAction(waiting, at(2_000))).toEqual({
      kind: 'await_approval',
      approvalId,
      expiresAt,
      stepIndex: 0,
      wakeAt: expiresAt,
    });
    expect(nextAction(waiting, expiresAt)).toEqual({ kind: 'expire_approval', approvalId, stepIndex: 0 });
    // The run's deadline (1 hour) comes first with the default 24-hour approval timeout.
    const slow = stateOf(submit({ policy: approvalPolicy }), evaluate(1_000));
    expect(nextAction(slow, at(3_600_000))).toEqual({ kind: 'evaluate' });
  });

  it('evaluates (to end the run) once a cancel was requested, unless a call is out', () => {
    const cancel = { type: 'RequestCancel' as const, actor: operator, reason: 'stop', now: at(1_500) };
    expect(
      nextAction(stateOf(submit({ policy: approvalPolicy }), evaluate(1_000), cancel), at(2_000)),
    ).toEqual({
      kind: 'evaluate',
    });
    expect(nextAction(stateOf(submit(), evaluate(1_000), cancel), at(2_000))).toEqual({ kind: 'evaluate' });
    expect(nextAction(stateOf(submit(), evaluate(1_000), start(1_200), cancel), at(2_000)).kind).toBe('call');
  });
});
