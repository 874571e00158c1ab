// The older AOS SDKs' machine-native routes (/api/v1/runtime/…), in their shapes: thin
// adapters over /v1/simulate, /v1/skills and /v1/capabilities. Money is in cents, rounded up
// from micro-dollars for a cost, down for what remains. The tenant is the key's, never the body's.
import { z } from 'zod';
import { olderSdkRoute, olderSdkStepSchema } from './older-sdk-route.ts';

export const legacySimulateBody = z.strictObject({
  plan: z.array(olderSdkStepSchema).min(1).max(1000),
  budget_cents: z.number().nonnegative().max(1e11),
  agent_id: z.string().min(1).max(256).optional(),
  /** Accepted for the older clients, ignored: the tenant is the API key's. */
  tenant_id: z.string().max(256).optional(),
});

export const legacySimulate = olderSdkRoute({
  method: 'POST',
  url: '/api/v1/runtime/simulate',
  summary: 'simulate a plan of [{skill, params}] (adapter over POST /v1/simulate)',
  permission: 'read',
  body: legacySimulateBody,
  response: {
    200: z.object({
      feasible: z.boolean(),
      estimated_cost_cents: z.int(),
      risks: z.array(z.string()),
      reason: z.string().optional(),
      steps: z.array(
        z.object({ index: z.int(), skill: z.string(), estimated_cost_cents: z.int(), feasible: z.boolean() }),
      ),
    }),
  },
  errors: [413],
});

const legacySkillSummary = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  version: z.string(),
});

export const legacySkills = olderSdkRoute({
  method: 'GET',
  url: '/api/v1/runtime/skills',
  summary: 'the skills (adapter over GET /v1/skills)',
  permission: 'read',
  response: { 200: z.object({ skills: z.array(legacySkillSummary), count: z.int() }) },
});

const skillId = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]+(@[0-9A-Za-z.+-]+)?$/, 'a skill name, optionally @version'),
});

export const legacySkill = olderSdkRoute({
  method: 'GET',
  url: '/api/v1/runtime/skills/:id',
  summary: "a skill's contract (adapter over GET /v1/skills/:name)",
  permission: 'read',
  params: skillId,
  response: {
    200: legacySkillSummary.extend({
      cost_model: z.object({
        fixed_cents: z.int(),
        variable_cents_per_unit: z.int().optional(),
        unit: z.string().optional(),
      }),
      failure_modes: z.array(z.object({ code: z.string(), description: z.string(), retryable: z.boolean() })),
      params_schema: z.record(z.string(), z.unknown()),
      return_schema: z.record(z.string(), z.unknown()),
    }),
  },
  errors: [404],
});

const rateLimits = z.array(
  z.object({ resource: z.string(), limit: z.int(), current: z.int(), resets_at: z.string() }),
);

export const legacyCapabilities = olderSdkRoute({
  method: 'GET',
  url: '/api/v1/runtime/capabilities',
  summary: 'what the caller may use (adapter over GET /v1/capabilities)',
  permission: 'read',
  querystring: z.strictObject({
    agent_id: z.string().min(1).max(256).optional(),
    /** Accepted for the older clients, ignored: the tenant is the API key's. */
    tenant_id: z.string().max(256).optional(),
  }),
  response: {
    200: z.object({
      skills_available: z.array(z.string()),
      budget_remaining_cents: z.int(),
      rate_limits: rateLimits,
      permissions: z.array(z.string()),
    }),
  },
});

export const legacyResourceContract = olderSdkRoute({
  method: 'GET',
  url: '/api/v1/runtime/resource-contract/:id',
  summary: "a skill's resource contract: budget left today, rate limits, concurrency",
  permission: 'read',
  params: skillId,
  response: {
    200: z.object({
      resource_id: z.string(),
      budget_cents: z.int(),
      rate_limits: rateLimits,
      max_concurrency: z.int(),
    }),
  },
  errors: [404],
});

export const legacyQueryTypes = [
  'remaining_budget_cents',
  'what_did_i_try_already',
  'allowed_skills',
  'last_step_outcome',
  'skills_available_for_goal',
] as const;

export const legacyQuery = olderSdkRoute({
  method: 'POST',
  url: '/api/v1/runtime/query',
  summary: 'ask the runtime (adapter over POST /v1/runtime/query; money in cents)',
  permission: 'read',
  body: z.strictObject({
    query_type: z.enum(legacyQueryTypes),
    /** `goal` (skills_available_for_goal) and `limit` (what_did_i_try_already) are read; others ignored. */
    params: z.record(z.string(), z.unknown()).optional(),
    agent_id: z.string().min(1).max(256).optional(),
    run_id: z.string().min(1).max(256).optional(),
    /** Accepted for the older clients, ignored: the tenant is the API key's. */
    tenant_id: z.string().max(256).optional(),
  }),
  response: {
    200: z.object({
      query_type: z.enum(legacyQueryTypes),
      result: z.union([
        z.object({
          remaining_budget_cents: z.int().describe('the tighter of the run and the tenant day'),
          run: z
            .object({
              budget_cents: z.int(),
              spent_cents: z.int(),
              in_flight_cents: z.int(),
              remaining_cents: z.int(),
            })
            .nullable(),
          tenant_day: z.object({
            day: z.string(),
            limit_cents: z.int(),
            spent_cents: z.int(),
            reserved_cents: z.int(),
            remaining_cents: z.int(),
          }),
        }),
        z.object({
          attempts: z.array(
            z.object({
              run_id: z.string(),
              step_id: z.string(),
              attempt: z.int(),
              skill: z.string(),
              input_hash: z.string().nullable(),
              outcome: z.string(),
              error_code: z.string().nullable().describe("the older AOS's code name (ERR_…)"),
              category: z.string().nullable(),
              at: z.string(),
            }),
          ),
          count: z.int(),
        }),
        z.object({ skills: z.array(z.string()), requires_approval: z.array(z.string()) }),
        z.object({
          run_id: z.string().nullable(),
          step: z
            .object({
              step_id: z.string(),
              skill: z.string(),
              success: z.boolean(),
              error: z.object({ code: z.string(), message: z.string() }).optional(),
              at: z.string(),
            })
            .nullable(),
        }),
        z.object({
          skills: z.array(
            z.object({ id: z.string(), name: z.string(), score: z.int(), matched: z.array(z.string()) }),
          ),
        }),
      ]),
    }),
  },
  errors: [404],
});
