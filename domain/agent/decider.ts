// An agent's stream: its profile, registered once. The id follows the Idempotency-Key, so a
// retry with the same body finds its own AgentRegistered (commands/handle-command.ts) and a
// different body under the same id is a conflict, never a silent change of profile. Goals are
// planned in their own streams (goal-decider).
import type { Decider } from '../decider.ts';
import { DomainError } from '../domain-error.ts';
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
  decide: (command, state) => {
    if (state.profile) {
      throw new DomainError('CONFLICT', `agent ${command.agentId} is registered with another profile`, {
        agentId: command.agentId,
      });
    }
    return [
      {
        type: 'AgentRegistered',
        data: { agentId: command.agentId, profile: command.profile, at: command.now },
      },
    ];
  },
};
