// Agents: register a profile, read profiles with their recent runs, post a goal that a
// planner turns into a recorded plan and, once the sandbox accepts it, a run.
import { z } from 'zod';
import { goalRequestSchema, registerAgentRequestSchema } from '../domain/agent/requests.ts';
import { agentProfileSchema } from '../domain/events/agent-events.ts';
import { idempotencyHeaders, instant, limit } from './common.ts';
import { runSummarySchema } from './queries.ts';
import { defineRoute, errorBodySchema } from './route.ts';
import { runReceipt } from './runs.ts';

export const agentParams = z.strictObject({ id: z.string().min(1).max(256) });

export const agentSchema = agentProfileSchema.extend({
  agentId: z.string(),
  createdAt: instant,
  updatedAt: instant,
});
export type AgentView = z.infer<typeof agentSchema>;

export const registerAgent = defineRoute({
  method: 'POST',
  url: '/v1/agents',
  summary: 'Register an agent profile: name, allowed skills, default budget, planner (rules | llm)',
  tags: ['agents'],
  permission: 'submit',
  headers: idempotencyHeaders,
  body: registerAgentRequestSchema,
  response: {
    201: z.object({ agentId: z.string(), profile: agentProfileSchema }).describe('registered'),
    200: z
      .object({ agentId: z.string(), profile: agentProfileSchema })
      .describe('the same Idempotency-Key again'),
  },
  errors: [409],
});

export const listAgents = defineRoute({
  method: 'GET',
  url: '/v1/agents',
  summary: "The tenant's agents, newest first",
  tags: ['agents'],
  permission: 'read',
  querystring: z.strictObject({ limit: limit(500, 100) }),
  response: { 200: z.object({ items: z.array(agentSchema) }) },
});

export const getAgent = defineRoute({
  method: 'GET',
  url: '/v1/agents/:id',
  summary: 'An agent profile and its recent runs (newest first)',
  tags: ['agents'],
  permission: 'read',
  params: agentParams,
  querystring: z.strictObject({ runs: limit(100, 10) }),
  response: { 200: agentSchema.extend({ recentRuns: z.array(runSummarySchema) }) },
  errors: [404],
});

export const submitGoal = defineRoute({
  method: 'POST',
  url: '/v1/agents/:id/goals',
  summary: "Plan a goal with the agent's planner; an accepted plan starts a run (as POST /v1/runs)",
  tags: ['agents'],
  permission: 'submit',
  params: agentParams,
  headers: idempotencyHeaders,
  body: goalRequestSchema,
  response: {
    202: runReceipt.describe('the plan was accepted and the run queued'),
    200: runReceipt.describe('the same Idempotency-Key and body again: the first receipt'),
    422: errorBodySchema.describe('PLAN_REJECTED: details.violations names each problem; the record stays'),
  },
  errors: [404, 409, 413],
});
