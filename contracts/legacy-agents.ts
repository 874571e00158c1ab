// The older SDK's agent and run routes, in its shapes, as thin adapters over /v1/agents and
// /v1/runs (AOS-REFERENCE.md, "The older SDK's machine-native surface").
import { z } from 'zod';
import { goalTextSchema } from '../domain/agent/requests.ts';
import { legacyRunStatuses } from '../domain/run/run-statuses.ts';
import { agentParams } from './agents.ts';
import { olderSdkRoute, olderSdkStepSchema } from './older-sdk-route.ts';

export const legacyRunSchema = z.object({
  id: z.string(),
  status: z.enum(legacyRunStatuses),
  agent_id: z.string(),
  goal: z.string(),
  created_at: z.string(),
  completed_at: z.string().optional(),
  outcome: z
    .object({
      success: z.boolean(),
      data: z.unknown().optional(),
      error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
    })
    .optional(),
});

export const legacyCreateAgent = olderSdkRoute({
  method: 'POST',
  url: '/agents',
  summary: 'register an agent by name (every built-in skill, the rule planner)',
  permission: 'submit',
  body: z.object({ name: z.string().min(1).max(256) }),
  response: { 201: z.object({ agent_id: z.string() }) },
});

export const legacyPostGoal = olderSdkRoute({
  method: 'POST',
  url: '/agents/:id/goals',
  summary: "plan and start a goal with the agent's planner",
  permission: 'submit',
  params: agentParams,
  body: z.object({ goal: goalTextSchema, force_skill: z.string().min(1).max(128).optional() }),
  response: { 202: z.object({ run_id: z.string() }) },
  errors: [404, 413, 422],
});

/** A GET of one run in the older shape, named by the path parameters `params`. */
const legacyRunRead = <const U extends string, P extends z.ZodType>(url: U, summary: string, params: P) =>
  olderSdkRoute({
    method: 'GET',
    url,
    summary,
    permission: 'read',
    params,
    response: { 200: legacyRunSchema },
    errors: [404],
  });

export const legacyAgentRun = legacyRunRead(
  '/agents/:id/runs/:runId',
  "one of the agent's runs",
  z.strictObject({ id: agentParams.shape.id, runId: z.uuid() }),
);

export const legacySubmitRun = olderSdkRoute({
  method: 'POST',
  url: '/api/v1/runs',
  summary: "a run of a given plan, or of the agent's planned goal",
  permission: 'submit',
  body: z.object({
    agent_id: z.string().min(1).max(256),
    goal: goalTextSchema,
    plan: z.array(olderSdkStepSchema).min(1).optional(),
  }),
  response: { 202: legacyRunSchema },
  errors: [404, 413, 422],
});

export const legacyGetRun = legacyRunRead('/api/v1/runs/:id', 'a run', z.strictObject({ id: z.uuid() }));
