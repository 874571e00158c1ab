// breakers: each circuit breaker of a tenant as it stands (GET /v1/capabilities), folded from
// its stream (domain/breaker/decider.ts).
import { type BreakerEvent, type BreakerState, breakerDecider } from '../domain/breaker/decider.ts';
import type { Projection } from './projection.ts';

export const breakersProjection: Projection<BreakerState> = {
  name: 'breakers',
  version: 1,
  tables: [
    {
      name: 'rm_breakers',
      keyColumns: ['tenant_id', 'target'],
      columns: ['status', 'failures', 'half_open_at', 'since', 'updated_at'],
    },
  ],
  eventTypes: ['BreakerFailureRecorded', 'BreakerOpened', 'BreakerProbeStarted', 'BreakerClosed'],
  keyOf: (event) => (event.streamId.startsWith('breaker-') ? event.streamId : null),
  initialState: breakerDecider.initialState,
  apply(state, event) {
    const next = breakerDecider.evolve(state, { type: event.type, data: event.data } as BreakerEvent);
    const { tenantId, target, at } = event.data as { tenantId: string; target: string; at: string };
    return {
      state: next,
      changes: [
        {
          table: 'rm_breakers',
          kind: 'upsert',
          key: { tenant_id: tenantId, target },
          values: {
            status: next.status,
            failures: next.failures.length,
            half_open_at: next.status === 'open' ? next.halfOpenAt : null,
            since: next.since,
            updated_at: at,
          },
        },
      ],
    };
  },
};
