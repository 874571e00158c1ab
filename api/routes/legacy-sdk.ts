// The older SDKs' routes, thin over simulate, skills and capabilities (contracts/legacy-sdk.ts).
// Each converts the request to ours, calls what the /v1 route calls, and converts the answer
// back: cents rounded up for a cost, down for what remains.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { simulateRun } from '../../commands/simulate-run.ts';
import * as contracts from '../../contracts/legacy-sdk.ts';
import { stepsOfOlderPlan } from '../../contracts/older-sdk-route.ts';
import {
  type RuntimeAnswer,
  type RuntimeQuery,
  runtimeQuerySchema,
} from '../../contracts/runtime-queries.ts';
import type { Capabilities } from '../../contracts/skills.ts';
import { describeError, type ErrorCode } from '../../domain/errors.ts';
import { centsRoundedDown, centsRoundedUp, MICROS_PER_CENT } from '../../domain/money.ts';
import { DEFAULT_MAX_PARALLEL } from '../../domain/plan/graph.ts';
import { RequestValidationError } from '../contract-route.ts';
import { serveOlderSdk } from './older-sdk-route.ts';
import { answerRuntimeQuery } from './runtime-queries.ts';
import {
  capabilitiesOf,
  latestSkills,
  resolveSkill,
  type SkillRoutesOptions,
  skillContract,
} from './skills.ts';

type SimulateAnswer = Awaited<ReturnType<typeof simulateRun>>;

/** A step is feasible when its skill is known, the policy does not deny it and its input holds. */
function legacySteps(answer: SimulateAnswer) {
  return answer.steps.map((step) => ({
    index: step.index,
    skill: step.skill,
    estimated_cost_cents: centsRoundedUp(step.costMicros),
    feasible:
      step.known &&
      step.policy.result !== 'deny' &&
      !answer.issues.some((issue) => issue.path.startsWith(`plan.steps[${step.index}]`)),
  }));
}

/** What remains of the tenant's day (cents, rounded down) and the caller's request rate limit. */
function budgetAndLimits(capabilities: Capabilities, now: Date) {
  const { limit, used, resetsInSeconds } = capabilities.rateLimit;
  return {
    budget_remaining_cents: centsRoundedDown(capabilities.budget.remainingMicros),
    rate_limits: [
      {
        resource: 'requests_per_minute',
        limit,
        current: used,
        resets_at: new Date(now.getTime() + resetsInSeconds * 1000).toISOString(),
      },
    ],
  };
}

type LegacyQueryBody = z.infer<typeof contracts.legacyQuery.body>;

const legacyFieldNames: Record<string, string> = { runId: 'run_id', agentId: 'agent_id' };

/** The older body as ours; a refusal names the older fields (run_id, params.goal). */
function queryOf(body: LegacyQueryBody): RuntimeQuery {
  const { goal, limit } = body.params ?? {};
  const parsed = runtimeQuerySchema.safeParse({
    type: body.query_type === 'remaining_budget_cents' ? 'remaining_budget' : body.query_type,
    ...(body.run_id === undefined ? {} : { runId: body.run_id }),
    ...(body.agent_id === undefined ? {} : { agentId: body.agent_id }),
    params: { ...(goal === undefined ? {} : { goal }), ...(limit === undefined ? {} : { limit }) },
  });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    ...issue,
    path: issue.path.map((part) => legacyFieldNames[String(part)] ?? part),
  }));
  throw new RequestValidationError('body', new z.ZodError(issues));
}

const legacyCode = (code: string | null) => (code === null ? null : describeError(code as ErrorCode).legacy);

/** Our answer in the older shape: cents rounded up for what was spent, down for what remains. */
function legacyResult(answer: RuntimeAnswer) {
  switch (answer.type) {
    case 'remaining_budget': {
      const { run, tenantDay } = answer.result;
      const day = centsRoundedDown(tenantDay.remainingMicros);
      const left = run ? centsRoundedDown(run.remainingMicros) : day;
      return {
        remaining_budget_cents: Math.min(left, day),
        run: run && {
          budget_cents: centsRoundedDown(run.maxCostMicros),
          spent_cents: centsRoundedUp(run.chargedMicros),
          in_flight_cents: centsRoundedUp(run.inFlightMicros),
          remaining_cents: left,
        },
        tenant_day: {
          day: tenantDay.day,
          limit_cents: centsRoundedDown(tenantDay.limitMicros),
          spent_cents: centsRoundedUp(tenantDay.settledMicros),
          reserved_cents: centsRoundedUp(tenantDay.reservedMicros),
          remaining_cents: day,
        },
      };
    }
    case 'what_did_i_try_already':
      return {
        attempts: answer.result.attempts.map((attempt) => ({
          run_id: attempt.runId,
          step_id: attempt.stepId,
          attempt: attempt.attempt,
          skill: attempt.skill,
          input_hash: attempt.inputHash,
          outcome: attempt.outcome,
          error_code: legacyCode(attempt.errorCode),
          category: attempt.category,
          at: attempt.startedAt,
        })),
        count: answer.result.count,
      };
    case 'allowed_skills': {
      const allowed = answer.result.skills.filter((skill) => skill.allowed);
      return {
        skills: allowed.map((skill) => skill.name),
        requires_approval: allowed.filter((skill) => skill.approval !== 'never').map((skill) => skill.name),
      };
    }
    case 'last_step_outcome': {
      const { runId, step } = answer.result;
      return {
        run_id: runId,
        step: step && {
          step_id: step.stepId,
          skill: step.skill,
          success: step.outcome === 'succeeded' || step.outcome === 'compensated',
          ...(step.errorCode === null
            ? {}
            : { error: { code: legacyCode(step.errorCode)!, message: step.reason ?? step.errorCode } }),
          at: step.at,
        },
      };
    }
    case 'skills_available_for_goal':
      return {
        skills: answer.result.skills
          .filter((skill) => skill.allowed)
          .map((skill) => ({ id: skill.name, name: skill.name, score: skill.score, matched: skill.matched })),
      };
  }
}

export const legacySdkRoutes: FastifyPluginAsync<SkillRoutesOptions> = async (app, options) => {
  const { commands } = options;

  serveOlderSdk(app, contracts.legacySimulate, async ({ body, principal }) => {
    const answer = await simulateRun(commands, principal, {
      agentId: body.agent_id ?? 'older-sdk',
      plan: { steps: stepsOfOlderPlan(body.plan) },
      // Fractions of a cent below a micro-dollar are dropped: the budget never reads higher.
      budget: { maxCostMicros: Math.floor(body.budget_cents * MICROS_PER_CENT) },
    });
    return {
      feasible: answer.feasible,
      estimated_cost_cents: centsRoundedUp(answer.costMicros),
      risks: answer.risks,
      ...(answer.feasible ? {} : { reason: answer.reasons.join('; ') }),
      steps: legacySteps(answer),
    };
  });

  serveOlderSdk(app, contracts.legacySkills, async () => {
    const skills = latestSkills(commands.skills).map((skill) => ({
      id: skill.name,
      name: skill.name,
      description: skill.description ?? '',
      version: skill.version,
    }));
    return { skills, count: skills.length };
  });

  serveOlderSdk(app, contracts.legacySkill, async ({ params, principal }) => {
    const contract = await skillContract(options, principal, params.id);
    const cost = contract.costModel;
    const perUnit =
      'modelPricesMicrosPerMillion' in cost
        ? cost.modelPricesMicrosPerMillion[cost.fallbackModel]?.outputMicrosPerMillion
        : undefined;
    return {
      id: contract.name,
      name: contract.name,
      description: contract.description,
      version: contract.version,
      cost_model: {
        fixed_cents: centsRoundedUp(cost.estimateMicros.v2),
        ...(perUnit === undefined
          ? {}
          : { variable_cents_per_unit: centsRoundedUp(perUnit), unit: '1M output tokens (unlisted model)' }),
      },
      failure_modes: contract.errors.map((error) => ({
        code: describeError(error.code).legacy,
        description: `${error.code}: ${error.category.toLowerCase()}${error.retryable ? ', retried under the retry policy' : ''}`,
        retryable: error.retryable,
      })),
      params_schema: contract.inputSchema,
      return_schema: contract.outputSchema,
    };
  });

  serveOlderSdk(app, contracts.legacyCapabilities, async ({ query, principal, reply }) => {
    const capabilities = await capabilitiesOf(options, principal, query.agent_id, reply);
    return {
      skills_available: capabilities.skills.filter((skill) => skill.allowed).map((skill) => skill.name),
      ...budgetAndLimits(capabilities, commands.clock()),
      permissions: capabilities.permissions,
    };
  });

  serveOlderSdk(app, contracts.legacyQuery, async ({ body, principal }) => {
    const answer = await answerRuntimeQuery(options, principal, queryOf(body));
    return { query_type: body.query_type, result: legacyResult(answer) };
  });

  serveOlderSdk(app, contracts.legacyResourceContract, async ({ params, principal, reply }) => {
    resolveSkill(commands.skills, params.id); // a 404 for an unknown skill
    const capabilities = await capabilitiesOf(options, principal, undefined, reply);
    const { budget_remaining_cents, rate_limits } = budgetAndLimits(capabilities, commands.clock());
    return {
      resource_id: params.id,
      budget_cents: budget_remaining_cents,
      rate_limits,
      // Calls of one run in flight at once unless its plan sets maxParallel.
      max_concurrency: DEFAULT_MAX_PARALLEL,
    };
  });
};
