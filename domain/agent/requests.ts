// What a client sends to register an agent or give it a goal. Apart from the command handlers
// (commands/agent-commands.ts) because the route contracts, and so the console, need them.
import { z } from 'zod';
import { agentProfileSchema } from '../events/agent-events.ts';
import { runInputSchema } from '../plan/schema.ts';
import { runBudgetInputSchema } from '../run/commands.ts';

export const registerAgentRequestSchema = agentProfileSchema.extend({
  allowedSkills: agentProfileSchema.shape.allowedSkills.min(1, 'an agent needs at least one allowed skill'),
  planner: agentProfileSchema.shape.planner.default('rules'),
});
/** A goal in words, as every goal route takes it. */
export const goalTextSchema = z.string().min(1).max(4000);
export const goalRequestSchema = z.strictObject({
  goal: goalTextSchema,
  input: runInputSchema.optional(),
  /** The agent's default budget when absent. */
  budget: runBudgetInputSchema.optional(),
});
