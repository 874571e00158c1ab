// agents: each tenant's agent profiles, as last registered, with when they were first seen.
import type { AgentProfile } from '../domain/events/agent-events.ts';
import type { Projection } from './projection.ts';

interface AgentSeen {
  createdAt: string | null;
}

export const agentsProjection: Projection<AgentSeen> = {
  name: 'agents',
  version: 1,
  tables: [
    {
      name: 'rm_agents',
      keyColumns: ['tenant_id', 'agent_id'],
      columns: ['name', 'planner', 'profile', 'created_at', 'updated_at'],
    },
  ],
  eventTypes: ['AgentRegistered'],
  keyOf: (event) => (event.type === 'AgentRegistered' ? event.streamId : null),
  initialState: () => ({ createdAt: null }),
  apply(state, event) {
    const { agentId, profile, at } = event.data as { agentId: string; profile: AgentProfile; at: string };
    const createdAt = state.createdAt ?? at;
    return {
      state: { createdAt },
      changes: [
        {
          table: 'rm_agents',
          kind: 'upsert',
          key: { tenant_id: event.metadata.tenantId, agent_id: agentId },
          values: {
            name: profile.name,
            planner: profile.planner,
            profile,
            created_at: createdAt,
            updated_at: at,
          },
        },
      ],
    };
  },
};
