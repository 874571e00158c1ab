// The planner port: a goal in, a proposal out, raw. A proposal is never trusted: the sandbox
// (domain/planner/sandbox.ts) decides whether it becomes the run's plan.
import type { AgentProfile } from '../domain/events/agent-events.ts';

export interface PlanningRequest {
  goal: string;
  input?: Record<string, unknown> | undefined;
  profile: AgentProfile;
}

export interface PlanProposal {
  version: string;
  /** What the planner was asked, hashed into PlanProposed.promptHash. */
  prompt: string;
  /** Its answer as it gave it: JSON text that should parse as a plan. */
  rawOutput: string;
}

export interface Planner {
  propose(request: PlanningRequest): Promise<PlanProposal>;
}

export type Planners = Readonly<Record<AgentProfile['planner'], Planner>>;
