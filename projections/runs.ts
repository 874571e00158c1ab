// runs: the list and detail query model, one row per run, kept whole as the run detail.

import { runEventTypes } from '../domain/events/catalog.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { runIdOfStream } from '../domain/run/decider.ts';
import type { Projection } from './projection.ts';
import { applyToDetail, type RunDetail } from './run-detail.ts';

export const runsProjection: Projection<RunDetail | null> = {
  name: 'runs',
  // 2: the run detail lists its recoveries (issue 15). 3: its state is the row's detail
  // (stateColumn), no longer kept in aos_projection_state as well.
  version: 3,
  tables: [
    {
      name: 'rm_runs',
      keyColumns: ['run_id'],
      columns: [
        'tenant_id',
        'agent_id',
        'status',
        'cost_micros',
        'attempts',
        'created_at',
        'updated_at',
        'detail',
      ],
    },
  ],
  eventTypes: runEventTypes,
  // The run id: the key of its row, which holds its state.
  keyOf: (event) => runIdOfStream(event.streamId),
  initialState: () => null,
  // Every change of the detail upserts the row with it, and a run without a row has none.
  stateColumn: 'detail',
  apply(state, event) {
    const detail = applyToDetail(state, { type: event.type, data: event.data } as RunEvent);
    if (!detail) return { state, changes: [] };
    return {
      state: detail,
      changes: [
        {
          table: 'rm_runs',
          kind: 'upsert',
          key: { run_id: detail.runId },
          values: {
            tenant_id: detail.tenantId,
            agent_id: detail.agentId,
            status: detail.status,
            cost_micros: detail.costMicros,
            attempts: detail.steps.reduce((n, step) => n + step.attempts.length, 0),
            created_at: detail.createdAt,
            updated_at: detail.updatedAt,
            detail,
          },
        },
      ],
    };
  },
};
