// The questions an agent asks the runtime about itself (POST /v1/runtime/query and its GET
// forms), answered from the read models (projections/attempts.ts, run-context.ts,
// budget-days.ts), the policy in force and the skill contracts. Tenant-scoped by the key.
import { z } from 'zod';
import { errorCategories } from '../domain/errors.ts';
import { idSchema } from '../domain/events/fields.ts';
import { defineRoute } from './route.ts';

export const runtimeQueryTypes = [
  'remaining_budget',
  'what_did_i_try_already',
  'last_step_outcome',
  'allowed_skills',
  'skills_available_for_goal',
] as const;
export type RuntimeQueryType = (typeof runtimeQueryTypes)[number];

export const MAX_ATTEMPTS_LISTED = 500;
const goalSchema = z.string().trim().min(1).max(4000);
const attemptsLimit = z.coerce.number().int().min(1).max(MAX_ATTEMPTS_LISTED);

/** What each query needs beyond its type; null when it has it. */
function missingFor(
  type: RuntimeQueryType,
  has: { runId: boolean; agentId: boolean; goal: boolean },
): 'scope' | 'goal' | null {
  if ((type === 'what_did_i_try_already' || type === 'last_step_outcome') && !has.runId && !has.agentId) {
    return 'scope';
  }
  if (type === 'skills_available_for_goal' && !has.goal) return 'goal';
  return null;
}

const scopeMessage = (type: string) => `${type} is asked about a run or an agent: give runId or agentId`;

export const runtimeQuerySchema = z
  .strictObject({
    type: z.enum(runtimeQueryTypes),
    runId: idSchema.optional(),
    agentId: idSchema.optional(),
    params: z
      .strictObject({
        goal: goalSchema.optional().describe('skills_available_for_goal: the goal, in words'),
        limit: attemptsLimit.optional().describe('what_did_i_try_already: most attempts listed (default 50)'),
      })
      .optional(),
  })
  .superRefine((query, ctx) => {
    const missing = missingFor(query.type, {
      runId: query.runId !== undefined,
      agentId: query.agentId !== undefined,
      goal: query.params?.goal !== undefined,
    });
    if (missing === 'scope')
      ctx.addIssue({ code: 'custom', path: ['runId'], message: scopeMessage(query.type) });
    if (missing === 'goal') {
      ctx.addIssue({
        code: 'custom',
        path: ['params', 'goal'],
        message: 'skills_available_for_goal needs a goal',
      });
    }
  });
export type RuntimeQuery = z.infer<typeof runtimeQuerySchema>;

export const runtimeQueryParams = z.strictObject({ type: z.enum(runtimeQueryTypes) });

/** The GET form's query string: the body's fields, params flattened. */
export const runtimeQueryString = z.strictObject({
  runId: idSchema.optional(),
  agentId: idSchema.optional(),
  goal: goalSchema.optional(),
  limit: attemptsLimit.optional(),
});

/** The body a GET form stands for; its requirements are the body's, named by the query's fields. */
export function queryFromGet(
  type: RuntimeQueryType,
  query: z.infer<typeof runtimeQueryString>,
): RuntimeQuery {
  const { runId, agentId, goal, limit } = query;
  const params = { ...(goal === undefined ? {} : { goal }), ...(limit === undefined ? {} : { limit }) };
  return {
    type,
    ...(runId === undefined ? {} : { runId }),
    ...(agentId === undefined ? {} : { agentId }),
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

export function getFormIssue(type: RuntimeQueryType, query: z.infer<typeof runtimeQueryString>) {
  const missing = missingFor(type, {
    runId: query.runId !== undefined,
    agentId: query.agentId !== undefined,
    goal: query.goal !== undefined,
  });
  if (missing === 'scope') return { path: ['runId'], message: scopeMessage(type) };
  if (missing === 'goal') return { path: ['goal'], message: 'skills_available_for_goal needs a goal' };
  return null;
}

const micros = z.int();
const policyRef = z.object({ version: z.string(), hash: z.string() });
const approvalNeed = z.enum(['never', 'when_side_effecting', 'always']);

const remainingBudget = z.object({
  run: z
    .object({
      runId: z.string(),
      status: z.string(),
      maxCostMicros: micros,
      chargedMicros: micros,
      inFlightMicros: micros.describe('reserved by calls in flight'),
      remainingMicros: micros.describe('maxCostMicros - charged - in flight, at least 0'),
    })
    .nullable()
    .describe('null when no runId was given'),
  tenantDay: z.object({
    day: z.string(),
    limitMicros: micros,
    reservedMicros: micros,
    settledMicros: micros,
    remainingMicros: micros,
  }),
  models: z
    .array(
      z.object({
        model: z.string(),
        committedMicros: micros,
        capMicros: micros.nullable(),
        remainingMicros: micros.nullable().describe('null: the model has no cap'),
      }),
    )
    .describe("today's spend per model and the cap its reservations were held to"),
});

export const attemptView = z.object({
  runId: z.string(),
  stepIndex: z.int(),
  stepId: z.string(),
  attempt: z.int(),
  compensation: z.boolean(),
  skill: z.string(),
  skillVersion: z.string().nullable(),
  inputHash: z.string().nullable().describe('sha256 of the canonical JSON of the input the call got'),
  outcome: z.enum(['running', 'succeeded', 'failed', 'denied', 'refused']),
  errorCode: z.string().nullable(),
  category: z.enum(errorCategories).nullable(),
  retryable: z.boolean().nullable(),
  message: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
});

const whatDidITry = z.object({ attempts: z.array(attemptView).describe('newest first'), count: z.int() });

const lastStepOutcome = z.object({
  runId: z.string().nullable().describe("the run the step belongs to (an agent's: its latest step)"),
  runStatus: z.string().nullable(),
  step: z
    .object({
      stepIndex: z.int(),
      stepId: z.string(),
      skill: z.string(),
      outcome: z.enum(['succeeded', 'failed', 'skipped', 'compensated', 'compensation_failed']),
      attempts: z.int(),
      errorCode: z.string().nullable(),
      reason: z.string().nullable(),
      output: z
        .object({ value: z.unknown().optional(), hash: z.string(), truncated: z.string().optional() })
        .nullable(),
      at: z.string(),
    })
    .nullable()
    .describe('null: no step has ended yet'),
});

const skillStanding = z.object({
  name: z.string(),
  version: z.string(),
  allowed: z.boolean(),
  approval: approvalNeed,
  reason: z.string().describe('the rule that decided'),
});

const allowedSkills = z.object({
  policy: policyRef,
  agent: z
    .object({ agentId: z.string(), allowedSkills: z.array(z.string()) })
    .nullable()
    .describe("the agent's profile, when agentId names a registered agent"),
  skills: z.array(skillStanding),
});

const skillsForGoal = z.object({
  goal: z.string(),
  words: z.array(z.string()).describe("the goal's stems that were matched against the skills"),
  skills: z.array(
    skillStanding.extend({
      score: z.int().describe('goal stems found in the skill’s name, description or tags'),
      matched: z.array(z.string()),
    }),
  ),
});

const answer = <T extends RuntimeQueryType, R extends z.ZodType>(type: T, result: R) =>
  z.object({
    type: z.literal(type),
    runId: z.string().nullable(),
    agentId: z.string().nullable(),
    result,
  });

export const runtimeAnswerSchema = z.discriminatedUnion('type', [
  answer('remaining_budget', remainingBudget),
  answer('what_did_i_try_already', whatDidITry),
  answer('last_step_outcome', lastStepOutcome),
  answer('allowed_skills', allowedSkills),
  answer('skills_available_for_goal', skillsForGoal),
]);
export type RuntimeAnswer = z.infer<typeof runtimeAnswerSchema>;

const tags = ['runtime queries'];

export const runtimeQuery = defineRoute({
  method: 'POST',
  url: '/v1/runtime/query',
  summary:
    'Ask the runtime: remaining_budget, what_did_i_try_already, last_step_outcome, allowed_skills, skills_available_for_goal',
  tags,
  permission: 'read',
  body: runtimeQuerySchema,
  response: { 200: runtimeAnswerSchema },
  errors: [404],
});

export const runtimeQueryGet = defineRoute({
  method: 'GET',
  url: '/v1/runtime/query/:type',
  summary: 'The same question as POST /v1/runtime/query, as a readable URL (?runId, agentId, goal, limit)',
  tags,
  permission: 'read',
  params: runtimeQueryParams,
  querystring: runtimeQueryString,
  response: { 200: runtimeAnswerSchema },
  errors: [404],
});
