// divergence samples: pairs of (baseline, compared) costs for the divergence reports.
// - source "estimators": estimator v1 (baseline) against v2 (compared), per run at submission;
// - source "actual": the estimate of record (v2) against what the run was charged, one sample
//   per completed run, and none for a run that was estimated at nothing and charged nothing
//   (a plan of free skills: a sure match that would only inflate matching_rate). Per run, not
//   per step or attempt: a step's estimate covers all its attempts, and a mix of step and run
//   samples counted one run's cost twice (docs/replay.md, "Divergence samples").
import { canonicalHash, deterministicUuid } from '../domain/hashing.ts';
import type { ProjectedEvent, Projection, RowChange } from './projection.ts';
import { runKeyOf } from './run-steps.ts';

interface Estimate {
  costMicros: number;
  feasible: boolean;
}

interface RunSamplesState {
  inputHash: string | null;
  /** What v2 estimated for the run, micro-dollars. */
  estimateMicros: number | null;
}

function sample(event: ProjectedEvent, values: Record<string, unknown>, scope: string): RowChange {
  return {
    table: 'rm_divergence_samples',
    kind: 'upsert',
    key: { sample_id: deterministicUuid('divergence', event.eventId, scope) },
    values: {
      tenant_id: event.metadata.tenantId,
      run_id: (event.data as { runId: string }).runId,
      step_index: null,
      skill: null,
      model: null,
      baseline_feasible: null,
      compared_feasible: null,
      ...values,
      scope,
      sampled_at: event.recordedAt,
    },
  };
}

export const divergenceSamplesProjection: Projection<RunSamplesState> = {
  name: 'divergence',
  // 2: one `actual` sample per run that cost anything (1 mixed per-step and per-run samples).
  version: 2,
  tables: [
    {
      name: 'rm_divergence_samples',
      keyColumns: ['sample_id'],
      columns: [
        'tenant_id',
        'source',
        'scope',
        'run_id',
        'step_index',
        'skill',
        'model',
        'input_hash',
        'baseline_micros',
        'compared_micros',
        'baseline_feasible',
        'compared_feasible',
        'sampled_at',
      ],
    },
  ],
  eventTypes: ['RunSubmitted', 'RunEstimated', 'RunCompleted'],
  keyOf: runKeyOf,
  initialState: () => ({ inputHash: null, estimateMicros: null }),
  apply(state, event) {
    const data = event.data as { plan: unknown; v1: Estimate; v2: Estimate; chargedMicros: number };
    switch (event.type) {
      case 'RunSubmitted':
        return { state: { ...state, inputHash: canonicalHash(data.plan).slice(0, 16) }, changes: [] };
      case 'RunEstimated': {
        const { v1, v2 } = data;
        return {
          state: { ...state, estimateMicros: v2.costMicros },
          changes: [
            sample(
              event,
              {
                source: 'estimators',
                input_hash: state.inputHash,
                baseline_micros: v1.costMicros,
                compared_micros: v2.costMicros,
                baseline_feasible: v1.feasible,
                compared_feasible: v2.feasible,
              },
              'run',
            ),
          ],
        };
      }
      case 'RunCompleted':
        if (state.estimateMicros === null) return { state, changes: [] };
        if (state.estimateMicros === 0 && data.chargedMicros === 0) return { state, changes: [] };
        return {
          state,
          changes: [
            sample(
              event,
              {
                source: 'actual',
                input_hash: state.inputHash,
                baseline_micros: state.estimateMicros,
                compared_micros: data.chargedMicros,
              },
              'run',
            ),
          ],
        };
      default:
        return { state, changes: [] };
    }
  },
};
