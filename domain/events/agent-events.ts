// Agents (stream `agent-<tenantId>-<agentId>`) and the planning of their goals (stream
// `goal-<runId>`, written before the run's own stream): every profile change and every
// planner proposal, with what the sandbox decided about it.
import { z } from 'zod';
import { microsSchema } from '../money.ts';
import { planInputSchema } from '../plan/schema.ts';
import { runBudgetInputSchema } from '../run/commands.ts';
import { atSchema, hashSchema, idSchema, tokenUsageSchema } from './fields.ts';

export const plannerNames = ['rules', 'llm'] as const;
export const plannerNameSchema = z.enum(plannerNames);

export const agentProfileSchema = z.strictObject({
  name: z.string().min(1).max(256),
  allowedSkills: z.array(z.string().min(1).max(128)).max(100),
  defaultBudget: runBudgetInputSchema,
  planner: plannerNameSchema,
});
export type AgentProfile = z.output<typeof agentProfileSchema>;

export const agentRegistered = z.strictObject({
  agentId: idSchema,
  profile: agentProfileSchema,
  at: atSchema,
});

export const planRequested = z.strictObject({
  runId: idSchema,
  agentId: idSchema,
  goal: z.string().min(1).max(4000),
  planner: plannerNameSchema,
  at: atSchema,
});
/**
 * A planner call that costs money (the LLM planner's), charged like any llm_invoke: reserved
 * on the run's budget ledger at its v2 estimate before the call, settled at usage × price table.
 */
export const planChargeSchema = z.strictObject({
  runId: idSchema,
  reservationId: idSchema,
  usage: tokenUsageSchema.optional(),
  estimateMicros: microsSchema,
  computedMicros: microsSchema,
  /** What counts against the run's budget and the tenant's day: computed, or the estimate without usage. */
  chargedMicros: microsSchema,
  priceTableVersion: z.string().min(1),
  priceTableHash: hashSchema,
  at: atSchema,
});
export type PlanCharge = z.infer<typeof planChargeSchema>;

export const planProposed = z.strictObject({
  planner: plannerNameSchema,
  version: z.string().min(1),
  promptHash: hashSchema,
  rawOutput: z.string().max(100_000),
  charge: planChargeSchema.optional(),
});
export const planViolationSchema = z.strictObject({ path: z.string(), message: z.string() });
export const planAccepted = z.strictObject({ plan: planInputSchema });
export const planRejected = z.strictObject({ violations: z.array(planViolationSchema).min(1) });

export const agentEventSchemas = {
  AgentRegistered: agentRegistered,
  PlanRequested: planRequested,
  PlanProposed: planProposed,
  PlanAccepted: planAccepted,
  PlanRejected: planRejected,
} as const;

type Schemas = typeof agentEventSchemas;
export type AgentEvent = { [T in keyof Schemas]: { type: T; data: z.infer<Schemas[T]> } }[keyof Schemas];
