// Given/when/then specs of child runs: agent_invoke waits for its child and returns its
// output, agent_spawn does not wait but the run does at its end, the child's budget is carved
// out of the parent's and what it did not spend comes back, an ending parent asks its live
// children to cancel, and the depth limit.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../domain/events/run-events.ts';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { childBudgetMicros, childRunIdFor } from '../../../domain/run/decide.ts';
import { nextActions } from '../../../domain/run/next-action.ts';
import { foldRun, type SubmittedRun } from '../../../domain/run/state.ts';
import { at, history, openPolicy, operator, spec, submit } from './fixtures.ts';

const childPlan = { steps: [{ skill: 'json_transform', input: { expression: '@', data: 1 } }] };
const research = (skill: 'agent_invoke' | 'agent_spawn', extra: Record<string, unknown> = {}) => ({
  id: 'research',
  skill,
  input: { agentId: 'researcher', plan: childPlan, input: { topic: { $ref: 'input.topic' } }, ...extra },
});
const after = {
  id: 'report',
  skill: 'json_transform',
  dependsOn: ['research'],
  input: { expression: '@', data: { $ref: 'steps.research.output' } },
};
const parent = (steps: unknown[], extra: Record<string, unknown> = {}) =>
  submit({
    plan: { steps } as never,
    input: { topic: 'tides' },
    policy: openPolicy,
    budget: { maxCostMicros: 1_000 },
    ...extra,
  });

const child = childRunIdFor('run-1', 0, 1);
const ev = (ms: number, stepIndex: number): RunCommand => ({ type: 'EvaluateStep', stepIndex, now: at(ms) });
const startChild = (ms: number, budgetMicros: number): RunCommand => ({
  type: 'StartChild',
  stepIndex: 0,
  childRunId: child,
  budgetMicros,
  now: at(ms),
});
const ended = (
  ms: number,
  status: 'succeeded' | 'failed' | 'cancelled',
  chargedMicros: number,
  output?: unknown,
) =>
  ({
    type: 'RecordChildEnded',
    childRunId: child,
    status,
    reason: status === 'succeeded' ? 'all steps succeeded' : 'step 1 failed: no',
    chargedMicros,
    ...(output === undefined ? {} : { output }),
    now: at(ms),
  }) as RunCommand;
/** The ChildRunStarted of step 0's first attempt, at 2 ms. */
const childStarted = (mode: 'invoke' | 'spawn', budgetMicros: number): RunEvent => ({
  type: 'ChildRunStarted',
  data: {
    runId: 'run-1',
    stepIndex: 0,
    attempt: 1,
    childRunId: child,
    mode,
    agentId: 'researcher',
    budgetMicros,
    at: at(2),
  },
});
const types = (events: RunEvent[]) => events.map((event) => event.type);
const stateOf = (...commands: RunCommand[]) => foldRun(history(...commands)) as SubmittedRun;

describe('agent_invoke', () => {
  const invoke = parent([research('agent_invoke', { budget: { maxCostMicros: 400 } }), after]);

  it('is allowed like any step, then asks for its child run with the carved budget and resolved input', () => {
    const state = stateOf(invoke, ev(1, 0));
    expect(nextActions(state, at(2))).toEqual([
      {
        kind: 'start_child',
        stepIndex: 0,
        attempt: 1,
        childRunId: child,
        budgetMicros: 400,
        request: {
          agentId: 'researcher',
          plan: childPlan,
          input: { topic: 'tides' },
          budget: { maxCostMicros: 400 },
        },
      },
    ]);
  });

  it('records the start, holds the carved budget, and waits for the child', () => {
    spec
      .given(history(invoke, ev(1, 0)))
      .when(startChild(2, 400))
      .then([childStarted('invoke', 400)]);
    const waiting = stateOf(invoke, ev(1, 0), startChild(2, 400));
    expect(nextActions(waiting, at(3))).toEqual([{ kind: 'await_child', childRunId: child, stepIndex: 0 }]);
    expect(waiting.status).toBe('running');
  });

  it('refuses a start with another budget than the carve', () => {
    spec
      .given(history(invoke, ev(1, 0)))
      .when(startChild(2, 999))
      .thenThrows('CONFLICT', /budget is 400/);
  });

  it('completes the step with the child output and charges what the child spent', () => {
    const given = history(invoke, ev(1, 0), startChild(2, 400));
    spec
      .given(given)
      .when(ended(3, 'succeeded', 120, { summary: 'high' }))
      .thenMatches([
        { type: 'ChildRunEnded', data: { childRunId: child, status: 'succeeded', chargedMicros: 120 } },
        { type: 'StepCompleted', data: { stepIndex: 0, outcome: 'succeeded', output: { summary: 'high' } } },
      ]);
    const done = stateOf(
      invoke,
      ev(1, 0),
      startChild(2, 400),
      ended(3, 'succeeded', 120, { summary: 'high' }),
    );
    expect(done.chargedMicros).toBe(120);
    // The unspent 280 are the parent's again.
    expect(childBudgetMicros(done, 1)).toBe(880);
  });

  it('fails the step when the child did not succeed', () => {
    spec
      .given(history(invoke, ev(1, 0), startChild(2, 400)))
      .when(ended(3, 'failed', 40))
      .thenMatches([
        { type: 'ChildRunEnded', data: { status: 'failed' } },
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'CHILD_RUN_FAILED' } },
        { type: 'RunCompleted', data: { status: 'failed', chargedMicros: 40 } },
      ]);
  });

  it('fails the step when the child cannot be submitted, naming why', () => {
    spec
      .given(history(invoke, ev(1, 0)))
      .when({
        type: 'RecordChildRefused',
        stepIndex: 0,
        childRunId: child,
        errorCode: 'INVALID_INPUT',
        reason: 'unknown skill nope',
        now: at(2),
      })
      .thenMatches([
        { type: 'ChildRunRefused', data: { errorCode: 'INVALID_INPUT' } },
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'INVALID_INPUT' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
  });

  it('without a budget of its own, is given all that remains of the parent', () => {
    const open = parent([research('agent_invoke'), after]);
    expect(childBudgetMicros(stateOf(open, ev(1, 0)), 0)).toBe(1_000);
  });

  it('certifies a run that invoked a child', () => {
    const events = history(
      invoke,
      ev(1, 0),
      startChild(2, 400),
      ended(3, 'succeeded', 120, 'out'),
      ev(4, 1),
      {
        type: 'StartAttempt',
        stepIndex: 1,
        reservationId: 'r',
        reservedMicros: 0,
        estimateMicros: 0,
        now: at(5),
      },
      {
        type: 'RecordOutcome',
        stepIndex: 1,
        outcome: { ok: true, output: 'out' },
        latencyMs: 1,
        now: at(6),
      },
    );
    expect(types(events).at(-1)).toBe('RunCompleted');
    expect(certifyRun(events)).toMatchObject({ certified: true });
  });
});

describe('agent_spawn', () => {
  const spawn = parent([research('agent_spawn', { budget: { maxCostMicros: 300 } })]);

  it('completes the step at once with the child run id, and the run waits for the child at its end', () => {
    spec
      .given(history(spawn, ev(1, 0)))
      .when(startChild(2, 300))
      .then([
        childStarted('spawn', 300),
        {
          type: 'StepCompleted',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            outcome: 'succeeded',
            attempts: 1,
            output: { runId: child },
            at: at(2),
          },
        },
      ]);
    spec
      .given(history(spawn, ev(1, 0), startChild(2, 300)))
      .when(ended(3, 'succeeded', 50))
      .thenMatches([
        { type: 'ChildRunEnded', data: { chargedMicros: 50 } },
        { type: 'RunCompleted', data: { status: 'succeeded', chargedMicros: 50 } },
      ]);
  });
});

describe('a parent that must end', () => {
  const invoke = parent([research('agent_invoke'), after]);
  const cancel: RunCommand = { type: 'RequestCancel', actor: operator, reason: 'stop', now: at(3) };

  it('asks its live child to cancel, once, and ends only after the child did', () => {
    const cancelling = stateOf(invoke, ev(1, 0), startChild(2, 1_000), cancel);
    expect(nextActions(cancelling, at(4))).toEqual([
      { kind: 'cancel_child', childRunId: child, stepIndex: 0 },
    ]);
    spec
      .given(history(invoke, ev(1, 0), startChild(2, 1_000), cancel))
      .when({ type: 'RequestChildCancel', childRunId: child, now: at(4) })
      .then([
        {
          type: 'ChildCancelRequested',
          data: { runId: 'run-1', stepIndex: 0, childRunId: child, at: at(4) },
        },
      ]);
    const asked: RunCommand = { type: 'RequestChildCancel', childRunId: child, now: at(4) };
    expect(nextActions(stateOf(invoke, ev(1, 0), startChild(2, 1_000), cancel, asked), at(5))).toEqual([
      { kind: 'await_child', childRunId: child, stepIndex: 0 },
    ]);
    spec
      .given(history(invoke, ev(1, 0), startChild(2, 1_000), cancel, asked))
      .when({ type: 'EvaluateStep', now: at(5) })
      .thenNothing();
    spec
      .given(history(invoke, ev(1, 0), startChild(2, 1_000), cancel, asked))
      .when(ended(6, 'cancelled', 10))
      .thenMatches([
        { type: 'ChildRunEnded', data: { status: 'cancelled', chargedMicros: 10 } },
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'CANCELLED' } },
        { type: 'RunCompleted', data: { status: 'cancelled', chargedMicros: 10 } },
      ]);
  });
});

describe('limits', () => {
  it('refuses a 21st child of one run with CHILD_LIMIT_EXCEEDED', () => {
    const spawns = Array.from({ length: 21 }, (_, i) => ({
      id: `s${i}`,
      skill: 'agent_spawn',
      input: { agentId: 'a', plan: childPlan, budget: { maxCostMicros: 10 } },
      ...(i === 0 ? {} : { dependsOn: [`s${i - 1}`] }),
    }));
    // 21 children are too risky to be submitted but for a policy that only flags it.
    const many = parent(spawns, { policy: { version: 'flag-1', rules: { infeasibleEstimate: 'flag' } } });
    const started = Array.from({ length: 20 }, (_, i): RunCommand[] => [
      ev(10 * i + 1, i),
      {
        type: 'StartChild',
        stepIndex: i,
        childRunId: childRunIdFor('run-1', i, 1),
        budgetMicros: 10,
        now: at(10 * i + 2),
      },
    ]).flat();
    spec
      .given(history(many, ...started))
      .when(ev(500, 20))
      .thenMatches([
        {
          type: 'StepCompleted',
          data: {
            stepIndex: 20,
            outcome: 'failed',
            errorCode: 'CHILD_LIMIT_EXCEEDED',
            reason: expect.stringContaining('20 child runs'),
          },
        },
      ]);
  });

  it('refuses a child beyond the depth limit with CHILD_LIMIT_EXCEEDED', () => {
    const deep = parent([research('agent_invoke')], { parent: { runId: 'run-0', stepIndex: 0, depth: 5 } });
    spec
      .given(history(deep))
      .when(ev(1, 0))
      .thenMatches([
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'CHILD_LIMIT_EXCEEDED' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
  });
});
