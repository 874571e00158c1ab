// The planner port: a goal in, a proposal out, raw. A proposal is never trusted: the sandbox
// (domain/planner/sandbox.ts) decides whether it becomes the run's plan.
import type { AgentProfile } from '../domain/events/agent-events.ts';
import type { TokenUsage } from '../domain/skill.ts';
import type { StepInput } from '../domain/step-input.ts';

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
  /** What the provider reported the call used, when it called one. */
  usage?: TokenUsage;
}

export interface Planner {
  /**
   * The llm_invoke input a proposal's call amounts to (model, system, prompt, maxTokens), for a
   * planner that calls a provider: it is estimated, reserved and charged as that call would be.
   * Absent: planning costs nothing (the rules).
   */
  llmCall?(request: PlanningRequest): StepInput;
  propose(request: PlanningRequest): Promise<PlanProposal>;
}

export type Planners = Readonly<Record<AgentProfile['planner'], Planner>>;
