// The older SDKs' routes, thin over simulate, skills and capabilities (contracts/legacy-sdk.ts).
// Each converts the request to ours, calls what the /v1 route calls, and converts the answer
// back: cents rounded up for a cost, down for what remains.
import type { FastifyPluginAsync } from 'fastify';
import { simulateRun } from '../../commands/simulate-run.ts';
import * as contracts from '../../contracts/legacy-sdk.ts';
import { stepsOfOlderPlan } from '../../contracts/older-sdk-route.ts';
import type { Capabilities } from '../../contracts/skills.ts';
import { describeError } from '../../domain/errors.ts';
import { centsRoundedDown, centsRoundedUp, MICROS_PER_CENT } from '../../domain/money.ts';
import { DEFAULT_MAX_PARALLEL } from '../../domain/plan/graph.ts';
import { serveOlderSdk } from './older-sdk-route.ts';
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
