// divergence samples: pairs of (baseline, compared) costs for the divergence reports.
// - source "estimators": estimator v1 (baseline) against v2 (compared), per run at submission;
// - source "actual": the estimate of record (v2) against what was charged, per step and per run.
import { canonicalHash, deterministicUuid } from '../domain/hashing.ts';
import type { ProjectedEvent, Projection, RowChange } from './projection.ts';
import { runKeyOf } from './run-steps.ts';

interface Estimate {
  costMicros: number;
  feasible: boolean;
  steps: { stepIndex: number; skill: string; model?: string; costMicros: number }[];
}

interface RunSamplesState {
  inputHash: string | null;
  estimate: Estimate | null;
  chargedByStep: Record<number, number>;
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
  version: 1,
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
  eventTypes: ['RunSubmitted', 'RunEstimated', 'CostCharged', 'StepCompleted', 'RunCompleted'],
  keyOf: runKeyOf,
  initialState: () => ({ inputHash: null, estimate: null, chargedByStep: {} }),
  apply(state, event) {
    const data = event.data as {
      plan: unknown;
      v1: Estimate;
      v2: Estimate;
      stepIndex: number;
      chargedMicros: number;
    };
    switch (event.type) {
      case 'RunSubmitted':
        return { state: { ...state, inputHash: canonicalHash(data.plan).slice(0, 16) }, changes: [] };
      case 'RunEstimated': {
        const { v1, v2 } = data;
        return {
          state: { ...state, estimate: v2 },
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
      case 'CostCharged': {
        const step = data.stepIndex as number;
        const chargedByStep = {
          ...state.chargedByStep,
          [step]: (state.chargedByStep[step] ?? 0) + data.chargedMicros,
        };
        return { state: { ...state, chargedByStep }, changes: [] };
      }
      case 'StepCompleted': {
        const step = state.estimate?.steps.find((s) => s.stepIndex === data.stepIndex);
        if (!step) return { state, changes: [] };
        return {
          state,
          changes: [
            sample(
              event,
              {
                source: 'actual',
                step_index: step.stepIndex,
                skill: step.skill,
                model: step.model ?? null,
                input_hash: canonicalHash({ plan: state.inputHash, step: step.stepIndex }).slice(0, 16),
                baseline_micros: step.costMicros,
                compared_micros: state.chargedByStep[step.stepIndex] ?? 0,
              },
              'step',
            ),
          ],
        };
      }
      case 'RunCompleted':
        if (!state.estimate) return { state, changes: [] };
        return {
          state,
          changes: [
            sample(
              event,
              {
                source: 'actual',
                input_hash: state.inputHash,
                baseline_micros: state.estimate.costMicros,
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
