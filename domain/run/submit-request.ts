// What a client sends to start a run (POST /v1/runs, /v1/simulate). Its own file because the
// route contracts, and so the console's bundle, need the schema without the command handlers.
import { z } from 'zod';
import { seedSchema } from '../events/run-fields.ts';
import { planInputSchema, runInputSchema } from '../plan/schema.ts';
import { runBudgetInputSchema } from './commands.ts';

export const submitRunRequestSchema = z.strictObject({
  agentId: z.string().min(1).max(256),
  plan: planInputSchema,
  /** The run's input, read by the plan's references as `input`. */
  input: runInputSchema.optional(),
  budget: runBudgetInputSchema,
  seed: seedSchema.optional(),
});
export type SubmitRunRequest = z.input<typeof submitRunRequestSchema>;
