// The divergence samples projection (issue 17, item 6): `actual` is one sample per run that
// cost anything — the estimate of record against what the run was charged — never a mix of
// per-step and per-run samples, and no sure-match sample for a run that cost nothing.
import { describe, expect, it } from 'vitest';
import type { RunCommand } from '../../domain/run/commands.ts';
import { divergenceSamplesProjection } from '../../projections/divergence-samples.ts';
import { projectionSpec, recorded } from '../domain/projection-spec.ts';
import { at, evaluate, history, start, submit, succeed, transformStep } from '../domain/run/fixtures.ts';

const spec = projectionSpec(divergenceSamplesProjection);
const noUsage = (ms: number): RunCommand => ({
  type: 'RecordOutcome',
  outcome: { ok: true, output: 1 },
  latencyMs: 1,
  now: at(ms),
});

describe('divergence samples', () => {
  it('a two-step run is one estimators sample and one actual sample, the run against its charges', () => {
    const events = history(
      submit(),
      evaluate(1),
      start(2),
      succeed(3),
      evaluate(4),
      start(5, 'res-2', 0),
      succeed(6, 1),
    );
    const estimated = events.find((e) => e.type === 'RunEstimated')!;
    const completed = events.find((e) => e.type === 'RunCompleted')!;
    if (estimated.type !== 'RunEstimated' || completed.type !== 'RunCompleted')
      throw new Error('unreachable');
    const charged = events.flatMap((e) => (e.type === 'CostCharged' ? [e.data.chargedMicros] : []));
    expect(charged).toHaveLength(2);
    spec.given(recorded('run-run-1', events)).thenMatches([
      {
        source: 'estimators',
        scope: 'run',
        baseline_micros: estimated.data.v1.costMicros,
        compared_micros: estimated.data.v2.costMicros,
      },
      {
        source: 'actual',
        scope: 'run',
        run_id: 'run-1',
        step_index: null,
        baseline_micros: estimated.data.v2.costMicros,
        compared_micros: charged[0]! + charged[1]!,
        sampled_at: completed.data.at,
      },
    ]);
    expect(completed.data.chargedMicros).toBe(charged[0]! + charged[1]!);
  });

  it('a run estimated at nothing and charged nothing gives no actual sample', () => {
    const events = history(
      submit({ plan: { steps: [transformStep] } }),
      evaluate(1),
      start(2, 'res-1', 0),
      noUsage(3),
    );
    expect(events.at(-1)).toMatchObject({ type: 'RunCompleted', data: { chargedMicros: 0 } });
    spec
      .given(recorded('run-run-1', events))
      .thenMatches([{ source: 'estimators', baseline_micros: 0, compared_micros: 0 }]);
  });

  it('a run without an estimate (refused before it was estimated) gives no actual sample', () => {
    const events = history(submit()).filter((e) => e.type !== 'RunEstimated');
    spec.given(recorded('run-run-1', events)).then([]);
  });
});
