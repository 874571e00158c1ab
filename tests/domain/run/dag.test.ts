// Given/when/then specs of the v2 transitions: parallel branches, references resolved and
// recorded with the attempt, `when` and skipped steps, budgets shared by branches, a failure
// that waits for the branches in flight, and compensation.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../domain/events/run-events.ts';
import { canonicalHash } from '../../../domain/hashing.ts';
import { stepSeed } from '../../../domain/plan/graph.ts';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { nextActions } from '../../../domain/run/next-action.ts';
import { TRUNCATED_INPUT_CHARS } from '../../../domain/run/resolve.ts';
import { foldRun } from '../../../domain/run/state.ts';
import { drive } from './driver.ts';
import { at, history, openPolicy, spec, submit } from './fixtures.ts';

const transform = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  skill: 'json_transform',
  input: { expression: '@', data: id },
  ...extra,
});
const ev = (ms: number, stepIndex: number): RunCommand => ({ type: 'EvaluateStep', stepIndex, now: at(ms) });
const st = (ms: number, stepIndex: number, estimateMicros = 0): RunCommand => ({
  type: 'StartAttempt',
  stepIndex,
  reservationId: `res-${stepIndex}`,
  reservedMicros: estimateMicros,
  estimateMicros,
  now: at(ms),
});
const ok = (ms: number, stepIndex: number, output: unknown): RunCommand => ({
  type: 'RecordOutcome',
  stepIndex,
  outcome: { ok: true, output },
  latencyMs: 10,
  now: at(ms),
});
const ko = (ms: number, stepIndex: number): RunCommand => ({
  type: 'RecordOutcome',
  stepIndex,
  outcome: { ok: false, errorCode: 'HTTP_4XX', message: 'no' },
  latencyMs: 10,
  now: at(ms),
});
const v2 = (steps: unknown[], extra: Record<string, unknown> = {}) =>
  submit({ plan: { steps, ...extra } as never, policy: openPolicy });
const types = (events: RunEvent[]) => events.map((event) => event.type);

describe('parallel branches', () => {
  const fanIn = v2(
    [
      transform('a', { dependsOn: [] }),
      transform('b', { dependsOn: [] }),
      {
        id: 'join',
        skill: 'json_transform',
        dependsOn: ['a', 'b'],
        input: { expression: '@', data: { both: [{ $ref: 'steps.a.output' }, { $ref: 'steps.b.output' }] } },
      },
    ],
    { output: { $ref: 'steps.join.output' } },
  );

  it('evaluates both roots at once; each attempt is in flight on its own', () => {
    const given = history(fanIn, ev(1, 0), st(2, 0));
    spec
      .given(given)
      .when(ev(3, 1))
      .thenMatches([{ type: 'PolicyDecided', data: { stepIndex: 1, attempt: 1, result: 'allow' } }]);
    const state = foldRun(history(fanIn, ev(1, 0), st(2, 0), ev(3, 1), st(4, 1)));
    expect(nextActions(state, at(5)).map((a) => [a.kind, 'stepIndex' in a ? a.stepIndex : null])).toEqual([
      ['call', 0],
      ['call', 1],
    ]);
  });

  it('starts the join once both branches ended, with their outputs resolved and recorded', () => {
    const given = history(fanIn, ev(1, 0), st(2, 0), ev(3, 1), st(4, 1), ok(5, 1, 'B'));
    spec
      .given(given)
      .when(ok(6, 0, 'A'))
      .thenMatches([
        { type: 'SkillCallSucceeded', data: { stepIndex: 0 } },
        { type: 'StepCompleted', data: { stepIndex: 0, outcome: 'succeeded', output: 'A' } },
      ]);
    const joined = history(
      fanIn,
      ev(1, 0),
      st(2, 0),
      ev(3, 1),
      st(4, 1),
      ok(5, 1, 'B'),
      ok(6, 0, 'A'),
      ev(7, 2),
    );
    const input = { expression: '@', data: { both: ['A', 'B'] } };
    spec
      .given(joined)
      .when(st(8, 2))
      .then([
        {
          type: 'SkillCallStarted',
          data: {
            runId: 'run-1',
            stepIndex: 2,
            attempt: 1,
            skill: 'json_transform',
            reservationId: 'res-2',
            reservedMicros: 0,
            estimateMicros: 0,
            input,
            inputHash: canonicalHash(input),
            seed: stepSeed(7, 'join'),
            at: at(8),
          },
        },
      ]);
  });

  it('ends the run with the plan output once the last step succeeds', () => {
    const given = history(
      fanIn,
      ev(1, 0),
      st(2, 0),
      ev(3, 1),
      st(4, 1),
      ok(5, 1, 'B'),
      ok(6, 0, 'A'),
      ev(7, 2),
      st(8, 2),
    );
    spec
      .given(given)
      .when(ok(9, 2, { both: ['A', 'B'] }))
      .thenMatches([
        { type: 'SkillCallSucceeded' },
        { type: 'StepCompleted', data: { stepIndex: 2 } },
        { type: 'RunCompleted', data: { status: 'succeeded', output: { both: ['A', 'B'] } } },
      ]);
  });

  it('opens no more branches than maxParallel', () => {
    const wide = v2(
      [1, 2, 3, 4, 5].map((n) => transform(`s${n}`, { dependsOn: [] })),
      { maxParallel: 2 },
    );
    const state = foldRun(history(wide, ev(1, 0), st(2, 0)));
    expect(nextActions(state, at(3)).map((a) => a.kind)).toEqual(['call', 'evaluate']);
    const full = foldRun(history(wide, ev(1, 0), st(2, 0), ev(3, 1)));
    expect(nextActions(full, at(4)).map((a) => a.kind)).toEqual(['call', 'reserve']);
  });

  it('records a large resolved input as its hash and a truncated copy', () => {
    const big = 'x'.repeat(40_000);
    const plan = v2([
      transform('a'),
      { id: 'b', skill: 'json_transform', input: { expression: '@', data: { $ref: 'steps.a.output' } } },
    ]);
    const given = history(plan, ev(1, 0), st(2, 0), ok(3, 0, big), ev(4, 1));
    const [started] = spec
      .given(given)
      .when(st(5, 1))
      .thenMatches([{ type: 'SkillCallStarted' }]);
    const data = started?.type === 'SkillCallStarted' ? started.data : undefined;
    expect(data?.input).toBeUndefined();
    expect(data?.inputHash).toBe(canonicalHash({ expression: '@', data: big }));
    expect(data?.inputTruncated).toHaveLength(TRUNCATED_INPUT_CHARS);
  });
});

describe('when and skipped steps', () => {
  const plan = v2([
    transform('check'),
    transform('premium', { when: "steps.check.output == 'premium'" }),
    transform('after', { dependsOn: ['premium'] }),
    transform('always', { dependsOn: ['check'] }),
  ]);
  const checked = history(plan, ev(1, 0), st(2, 0), ok(3, 0, 'basic'));

  it('skips a step whose when is false', () => {
    spec
      .given(checked)
      .when(ev(4, 1))
      .then([
        {
          type: 'StepSkipped',
          data: {
            runId: 'run-1',
            stepIndex: 1,
            stepId: 'premium',
            reason: `when "steps.check.output == 'premium'" is false`,
            at: at(4),
          },
        },
      ]);
  });

  it('skips a step that depends only on skipped steps, and the run still succeeds', () => {
    const given = history(plan, ev(1, 0), st(2, 0), ok(3, 0, 'basic'), ev(4, 1), ev(5, 3), st(6, 3));
    spec
      .given(given)
      .when(ev(7, 2))
      .thenMatches([
        { type: 'StepSkipped', data: { stepIndex: 2, reason: 'every step it depends on was skipped' } },
      ]);
    const result = drive(plan, {
      outcome: (stepIndex) => ({ ok: true, output: stepIndex === 0 ? 'basic' : 'x' }),
    });
    expect(result.state.status).toBe('succeeded');
    expect(types(result.events).filter((type) => type === 'StepSkipped')).toHaveLength(2);
    expect(certifyRun(result.events)).toMatchObject({ certified: true });
  });

  it('runs the step when its condition holds', () => {
    const given = history(plan, ev(1, 0), st(2, 0), ok(3, 0, 'premium'));
    spec
      .given(given)
      .when(ev(4, 1))
      .thenMatches([{ type: 'PolicyDecided', data: { stepIndex: 1 } }]);
  });
});

describe('failures with branches in flight', () => {
  const plan = v2([transform('a', { dependsOn: [] }), transform('b', { dependsOn: [] })]);

  it('waits for the other branch before ending the run', () => {
    const given = history(plan, ev(1, 0), st(2, 0), ev(3, 1), st(4, 1));
    spec
      .given(given)
      .when(ko(5, 0))
      .thenMatches([
        { type: 'SkillCallFailed', data: { stepIndex: 0 } },
        { type: 'StepCompleted', data: { stepIndex: 0, outcome: 'failed' } },
      ]);
    spec
      .given(history(plan, ev(1, 0), st(2, 0), ev(3, 1), st(4, 1), ko(5, 0)))
      .when(ok(6, 1, 'B'))
      .thenMatches([
        { type: 'SkillCallSucceeded', data: { stepIndex: 1 } },
        { type: 'StepCompleted', data: { stepIndex: 1, outcome: 'succeeded' } },
        { type: 'RunCompleted', data: { status: 'failed', stepIndex: 0, reason: 'step 1 failed: no' } },
      ]);
  });

  it('a branch waits while the others hold the budget it needs, then fails the run only when alone', () => {
    const llm = (id: string) => ({
      id,
      skill: 'llm_invoke',
      dependsOn: [],
      input: { model: 'stub', prompt: 'p', maxTokens: 100 },
    });
    // Each call is estimated at 21 micros: two fit in 50, a third must wait.
    const tight = submit({
      plan: { steps: [llm('a'), llm('b'), llm('c')] },
      policy: { version: 'flag', rules: { infeasibleEstimate: 'flag' } },
      budget: { maxCostMicros: 50 },
    });
    const given = history(tight, ev(1, 0), st(2, 0, 21), ev(3, 1), st(4, 1, 21));
    spec.given(given).when(ev(5, 2)).thenNothing();
    const state = foldRun(given);
    expect(nextActions(state, at(5)).map((a) => a.kind)).toEqual(['call', 'call']);
    const settled = history(
      tight,
      ev(1, 0),
      st(2, 0, 21),
      ev(3, 1),
      st(4, 1, 21),
      ok(5, 0, 'A'),
      ok(6, 1, 'B'),
    );
    spec
      .given(settled)
      .when(ev(7, 2))
      .thenMatches([{ type: 'PolicyDecided', data: { stepIndex: 2 } }]);
  });
});

describe('compensation', () => {
  const undo = (id: string) => ({ skill: 'json_transform', input: { expression: '@', data: { undo: id } } });
  const plan = v2([
    transform('a', { compensate: undo('a') }),
    transform('b', { compensate: undo('b') }),
    transform('c', { onFailure: 'compensate' }),
  ]);
  const failing = (stepIndex: number) =>
    stepIndex === 2
      ? { ok: false as const, errorCode: 'HTTP_4XX' as const, message: 'no' }
      : { ok: true as const, output: stepIndex };

  it('compensates the completed steps in reverse order of completion, then ends failed listing them', () => {
    const result = drive(plan, { outcome: failing });
    const relevant = result.events.filter((e) =>
      ['CompensationRequested', 'SkillCallStarted', 'StepCompensated', 'RunCompleted'].includes(e.type),
    );
    expect(relevant.map((e) => [e.type, 'stepIndex' in e.data ? e.data.stepIndex : null])).toEqual([
      ['SkillCallStarted', 0],
      ['SkillCallStarted', 1],
      ['SkillCallStarted', 2],
      ['CompensationRequested', 2],
      ['SkillCallStarted', 1],
      ['StepCompensated', 1],
      ['SkillCallStarted', 0],
      ['StepCompensated', 0],
      ['RunCompleted', 2],
    ]);
    const requested = result.events.find((e) => e.type === 'CompensationRequested');
    expect(requested?.data).toMatchObject({ steps: [1, 0] });
    const started = result.events.filter((e) => e.type === 'SkillCallStarted' && e.data.compensation);
    expect(started.map((e) => e.type === 'SkillCallStarted' && e.data.input)).toEqual([
      { expression: '@', data: { undo: 'b' } },
      { expression: '@', data: { undo: 'a' } },
    ]);
    expect(result.events.at(-1)).toMatchObject({
      type: 'RunCompleted',
      data: {
        status: 'failed',
        compensations: [
          { stepIndex: 1, outcome: 'succeeded' },
          { stepIndex: 0, outcome: 'succeeded' },
        ],
      },
    });
    expect(certifyRun(result.events)).toMatchObject({ certified: true });
  });

  it('ends compensation_failed when a compensation fails after its retries', () => {
    const result = drive(plan, {
      outcome: failing,
      compensation: (stepIndex) =>
        stepIndex === 1
          ? { ok: false, errorCode: 'HTTP_4XX', message: 'cannot undo' }
          : { ok: true, output: 'undone' },
    });
    expect(result.events.at(-1)).toMatchObject({
      type: 'RunCompleted',
      data: {
        status: 'compensation_failed',
        compensations: [
          { stepIndex: 1, outcome: 'failed' },
          { stepIndex: 0, outcome: 'succeeded' },
        ],
      },
    });
    expect(certifyRun(result.events)).toMatchObject({ certified: true });
  });

  it('a step with onFailure=fail ends the run without compensating', () => {
    const noCompensation = v2([transform('a', { compensate: undo('a') }), transform('c')]);
    const result = drive(noCompensation, {
      outcome: (stepIndex) =>
        stepIndex === 1 ? { ok: false, errorCode: 'HTTP_4XX', message: 'no' } : { ok: true, output: 'A' },
    });
    expect(result.state.status).toBe('failed');
    expect(types(result.events)).not.toContain('CompensationRequested');
  });
});

describe('certification of DAG runs', () => {
  it('certifies a fan-out / fan-in run with references', () => {
    const plan = v2(
      [
        ...[1, 2, 3].map((n) => transform(`f${n}`, { dependsOn: [] })),
        {
          id: 'sum',
          skill: 'json_transform',
          dependsOn: ['f1', 'f2', 'f3'],
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language, not JS
          input: { expression: '@', data: 'got ${steps.f1.output} ${steps.f2.output} ${steps.f3.output}' },
        },
      ],
      { output: { $ref: 'steps.sum.output' } },
    );
    const result = drive(plan, { outcome: (stepIndex) => ({ ok: true, output: `out${stepIndex}` }) });
    expect(result.state.status).toBe('succeeded');
    const sum = result.events.find((e) => e.type === 'SkillCallStarted' && e.data.stepIndex === 3);
    expect(sum?.type === 'SkillCallStarted' && sum.data.input).toEqual({
      expression: '@',
      data: 'got out0 out1 out2',
    });
    expect(certifyRun(result.events)).toMatchObject({ certified: true });
  });

  it('refuses a run whose recorded resolved input was tampered with', () => {
    const plan = v2([
      transform('a'),
      { id: 'b', skill: 'json_transform', input: { data: { $ref: 'steps.a.output' } } },
    ]);
    const result = drive(plan, { outcome: () => ({ ok: true, output: 'real' }) });
    const tampered = result.events.map((e) =>
      e.type === 'SkillCallStarted' && e.data.stepIndex === 1
        ? { ...e, data: { ...e.data, input: { data: 'forged' } } }
        : e,
    );
    expect(certifyRun(tampered)).toMatchObject({ certified: false });
  });
});
