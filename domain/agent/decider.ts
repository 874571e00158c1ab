// An agent's stream: its profile, registered once and changed by later registrations under
// the same id (AgentRegistered again). Goals are planned in their own streams (goal-decider).
import type { Decider } from '../decider.ts';
import type { AgentEvent, AgentProfile } from '../events/agent-events.ts';

export interface AgentState {
  agentId: string | null;
  profile: AgentProfile | null;
}

export interface RegisterAgent {
  type: 'RegisterAgent';
  agentId: string;
  profile: AgentProfile;
  now: string;
}

type AgentStreamEvent = Extract<AgentEvent, { type: 'AgentRegistered' }>;

export const agentStreamId = (tenantId: string, agentId: string) => `agent-${tenantId}-${agentId}`;

export const agentDecider: Decider<AgentState, RegisterAgent, AgentStreamEvent> = {
  initialState: () => ({ agentId: null, profile: null }),
  evolve: (_state, event) => ({ agentId: event.data.agentId, profile: event.data.profile }),
  decide: (command) => [
    {
      type: 'AgentRegistered',
      data: { agentId: command.agentId, profile: command.profile, at: command.now },
    },
  ],
};
