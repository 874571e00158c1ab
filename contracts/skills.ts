// What an agent may ask before it plans: the skills' contracts and its own capabilities.
import { z } from 'zod';
import { errorCategories, errorCodeNames } from '../domain/errors.ts';
import { retryPolicySchema } from '../domain/retry-policy.ts';
import { runBudgetInputSchema } from '../domain/run/commands.ts';
import { defineRoute } from './route.ts';

const jsonSchema = z.record(z.string(), z.unknown()).describe('a JSON Schema (draft 2020-12)');

export const skillSummarySchema = z.object({
  name: z.string(),
  version: z.string().describe('the version a call without skillVersion gets'),
  versions: z.array(z.string()),
  description: z.string(),
  tags: z.array(z.string()),
});

export const skillContractSchema = skillSummarySchema.extend({
  inputSchema: jsonSchema,
  outputSchema: jsonSchema,
  sideEffects: z.object({
    sideEffecting: z.union([z.boolean(), z.literal('depends_on_input')]),
    rule: z.string(),
  }),
  idempotency: z.string(),
  defaultRetry: retryPolicySchema,
  errors: z.array(
    z.object({
      code: z.enum(errorCodeNames),
      category: z.enum(errorCategories),
      retryable: z.boolean(),
      httpStatus: z.int(),
    }),
  ),
  costModel: z.object({
    kind: z.enum(['tokens', 'free']),
    note: z.string(),
    priceTable: z.object({ version: z.string(), hash: z.string() }),
    estimateMicros: z
      .object({ v1: z.int(), v2: z.int() })
      .describe('what one call of a minimal input is estimated (and reserves)'),
    fallbackModel: z.string().optional(),
    modelPricesMicrosPerMillion: z
      .record(
        z.string(),
        z.object({
          inputMicrosPerMillion: z.int(),
          outputMicrosPerMillion: z.int(),
          cachedInputMicrosPerMillion: z.int(),
        }),
      )
      .optional(),
  }),
  latency: z.object({
    estimateMs: z.object({ v1: z.int(), v2: z.int() }),
    estimator: z.string(),
    observed: z
      .object({ samples: z.int(), p50Ms: z.number(), p95Ms: z.number() })
      .nullable()
      .describe(
        "nearest-rank p50/p95 of the attempts of the skill's steps in the tenant's latest 1,000 runs; null: none timed",
      ),
  }),
  resources: z.object({
    timeoutMs: z.int(),
    timeout: z.string(),
    maxRequestBytes: z.int(),
    recordedValueLimitBytes: z.int(),
    rateLimit: z.object({ requestsPerMinute: z.int(), per: z.string() }),
  }),
});
export type SkillContractView = z.infer<typeof skillContractSchema>;

export const listSkills = defineRoute({
  method: 'GET',
  url: '/v1/skills',
  summary: 'The skills this installation serves: name, versions, description, tags',
  tags: ['skills'],
  permission: 'read',
  response: { 200: z.object({ skills: z.array(skillSummarySchema), count: z.int() }) },
});

export const skillNameParams = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+(@[0-9A-Za-z.+-]+)?$/, 'a skill name, optionally @version (llm_invoke@1.0.0)')
    .describe('name, or name@version (exact, `1`, `1.2` or `latest`)'),
});

export const getSkill = defineRoute({
  method: 'GET',
  url: '/v1/skills/:name',
  summary: "A skill's contract: JSON Schemas, side effects, retries, errors, cost model, latency, resources",
  tags: ['skills'],
  permission: 'read',
  params: skillNameParams,
  response: { 200: skillContractSchema },
  errors: [404],
});

const approvalSchema = z
  .enum(['never', 'when_side_effecting', 'always'])
  .describe('when a call of the skill waits for a human under the policy in force');

const rateLimitUse = z.object({
  limit: z.int(),
  used: z.int().describe('requests counted in the current window, this one included'),
  remaining: z.int(),
  resetsInSeconds: z.int(),
  per: z.string(),
});

export const capabilitiesSchema = z.object({
  tenantId: z.string(),
  agentId: z.string().nullable(),
  /** The agent's registered profile, when `agentId` names one: its skills narrow the tenant's. */
  agent: z
    .object({
      name: z.string(),
      allowedSkills: z.array(z.string()),
      defaultBudget: runBudgetInputSchema,
      planner: z.string(),
    })
    .nullable()
    .describe('null without agentId or for an id no agent is registered under'),
  role: z.string(),
  permissions: z.array(z.string()).describe("what the caller's key may do"),
  policy: z.object({ version: z.string(), hash: z.string() }),
  skills: z.array(
    z.object({
      name: z.string(),
      version: z.string(),
      allowed: z.boolean(),
      approval: approvalSchema,
      reason: z.string().describe('the rule that decided'),
    }),
  ),
  budget: z.object({
    day: z.string(),
    limitMicros: z.int(),
    reservedMicros: z.int(),
    settledMicros: z.int(),
    remainingMicros: z.int(),
    models: z.array(
      z.object({
        model: z.string(),
        reservedMicros: z.int(),
        settledMicros: z.int(),
        capMicros: z.int().nullable(),
      }),
    ),
  }),
  rateLimit: rateLimitUse.describe(
    "the caller's API key's requests this minute, counted across every instance",
  ),
  tenantRateLimit: rateLimitUse.describe(
    "the tenant's requests this minute (all its keys), across every instance",
  ),
  breakers: z
    .array(
      z.object({
        target: z.string().describe('skill:host (http_call) or skill:model (llm_invoke)'),
        status: z.enum(['closed', 'open', 'half_open']),
        failures: z.int().describe('retryable failures counted in the current window (closed)'),
        halfOpenAt: z.string().nullable().describe('open: when the next call is let through as the probe'),
        since: z.string().nullable(),
      }),
    )
    .describe("the tenant's circuit breakers, open ones first (targets that never failed are not listed)"),
  runLimits: z.object({
    defaultMaxSteps: z.int(),
    defaultDeadlineMs: z.int(),
    maxParallel: z.int(),
    maxCostMicrosPerCall: z.int().nullable(),
    callTimeoutMs: z.int(),
    maxRequestBytes: z.int(),
  }),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

export const capabilities = defineRoute({
  method: 'GET',
  url: '/v1/capabilities',
  summary:
    'What the caller may do: skills allowed and needing approval, budget left today, rate limit, run limits',
  tags: ['skills'],
  permission: 'read',
  querystring: z.strictObject({ agentId: z.string().min(1).max(256).optional() }),
  response: { 200: capabilitiesSchema },
});
