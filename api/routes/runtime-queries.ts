// The runtime queries (contracts/runtime-queries.ts): what an agent asks about its own runs,
// budget and skills. Figures come from the read models (projections/attempts.ts,
// run-context.ts, budget-days.ts); which skills may be used from the policy in force and the
// agent's profile, decided by the functions capabilities uses (commands/capabilities.ts).
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { skillPermissions } from '../../commands/capabilities.ts';
import { currentPolicy } from '../../commands/reference-data.ts';
import type { RuntimeAnswer, RuntimeQuery } from '../../contracts/runtime-queries.ts';
import * as contracts from '../../contracts/runtime-queries.ts';
import { skillSummaryOf } from '../../domain/skill-contract.ts';
import { goalWords, skillsForGoal } from '../../domain/skill-goal-match.ts';
import {
  agentAllowedSkills,
  attemptsOf,
  budgetDay,
  latestStepOfAgent,
  type RunContextRow,
  runContext,
} from '../../readmodels/runtime-queries.ts';
import type { Principal } from '../auth/plugin.ts';
import { principalOf } from '../auth/plugin.ts';
import { RequestValidationError, routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';
import { latestSkills, type SkillRoutesOptions } from './skills.ts';

const DEFAULT_ATTEMPTS_LISTED = 50;

type Result<T extends RuntimeQuery['type']> = Extract<RuntimeAnswer, { type: T }>['result'];

/** The tenant's run as the read models hold it; another tenant's (or none) is a 404. */
async function tenantRunContext(options: SkillRoutesOptions, tenantId: string, runId: string) {
  const found = await runContext(options.sql, tenantId, runId);
  if (!found) throw new HttpError(404, 'NOT_FOUND', `no run ${runId}`);
  return found;
}

async function remainingBudget(
  options: SkillRoutesOptions,
  tenantId: string,
  runId: string | undefined,
): Promise<Result<'remaining_budget'>> {
  const run = runId === undefined ? null : await tenantRunContext(options, tenantId, runId);
  const day = options.commands.clock().toISOString().slice(0, 10);
  const totals = await budgetDay(options.sql, tenantId, day);
  const limitMicros = options.limits.dayLimitMicros;
  return {
    run: run && {
      runId: run.runId,
      status: run.status,
      maxCostMicros: run.maxCostMicros,
      chargedMicros: run.chargedMicros,
      inFlightMicros: run.inFlightMicros,
      remainingMicros: Math.max(0, run.maxCostMicros - run.chargedMicros - run.inFlightMicros),
    },
    tenantDay: {
      day,
      limitMicros,
      reservedMicros: totals.reservedMicros,
      settledMicros: totals.settledMicros,
      remainingMicros: Math.max(0, limitMicros - totals.reservedMicros - totals.settledMicros),
    },
    models: totals.models.map((model) => ({
      ...model,
      remainingMicros: model.capMicros === null ? null : Math.max(0, model.capMicros - model.committedMicros),
    })),
  };
}

function lastStepAnswer(context: RunContextRow | null): Result<'last_step_outcome'> {
  return {
    runId: context?.runId ?? null,
    runStatus: context?.status ?? null,
    step: context?.lastStep ?? null,
  };
}

/** Each skill's standing under the policy in force, narrowed by the agent's profile when it has one. */
async function skillStandings(options: SkillRoutesOptions, tenantId: string, agentId: string | undefined) {
  const [policy, profileSkills] = await Promise.all([
    currentPolicy(options.commands.store, tenantId),
    agentId === undefined ? null : agentAllowedSkills(options.sql, tenantId, agentId),
  ]);
  const skills = skillPermissions(policy, latestSkills(options.commands.skills)).map((skill) =>
    !skill.allowed || profileSkills === null || profileSkills.includes(skill.name)
      ? skill
      : {
          ...skill,
          allowed: false,
          reason: `skill ${skill.name} is not in agent ${agentId}'s allowed skills`,
        },
  );
  return {
    policy: { version: policy.version, hash: policy.hash },
    agent: profileSkills === null ? null : { agentId: agentId!, allowedSkills: profileSkills },
    skills,
  };
}

async function skillsAvailableForGoal(
  options: SkillRoutesOptions,
  tenantId: string,
  agentId: string | undefined,
  goal: string,
): Promise<Result<'skills_available_for_goal'>> {
  const { skills: standings } = await skillStandings(options, tenantId, agentId);
  const summaries = latestSkills(options.commands.skills).map((skill) => skillSummaryOf(skill, []));
  const standingOf = new Map(standings.map((standing) => [standing.name, standing]));
  return {
    goal,
    words: goalWords(goal),
    skills: skillsForGoal(goal, summaries).map(({ skill, score, matched }) => ({
      ...standingOf.get(skill.name)!,
      score,
      matched,
    })),
  };
}

async function resultOf(options: SkillRoutesOptions, tenantId: string, query: RuntimeQuery) {
  const { runId, agentId } = query;
  switch (query.type) {
    case 'remaining_budget':
      return remainingBudget(options, tenantId, runId);
    case 'what_did_i_try_already': {
      if (runId !== undefined) await tenantRunContext(options, tenantId, runId);
      const limit = query.params?.limit ?? DEFAULT_ATTEMPTS_LISTED;
      const attempts = await attemptsOf(options.sql, tenantId, { runId, agentId }, limit);
      return { attempts, count: attempts.length };
    }
    case 'last_step_outcome':
      return lastStepAnswer(
        runId !== undefined
          ? await tenantRunContext(options, tenantId, runId)
          : await latestStepOfAgent(options.sql, tenantId, agentId!),
      );
    case 'allowed_skills':
      return skillStandings(options, tenantId, agentId);
    case 'skills_available_for_goal':
      return skillsAvailableForGoal(options, tenantId, agentId, query.params!.goal!);
  }
}

export async function answerRuntimeQuery(
  options: SkillRoutesOptions,
  principal: Principal,
  query: RuntimeQuery,
): Promise<RuntimeAnswer> {
  const result = await resultOf(options, principal.tenantId, query);
  return {
    type: query.type,
    runId: query.runId ?? null,
    agentId: query.agentId ?? null,
    result,
  } as RuntimeAnswer;
}

export const runtimeQueryRoutes: FastifyPluginAsync<SkillRoutesOptions> = async (app, options) => {
  const api = typed(app);

  api.route({
    ...routeOf(contracts.runtimeQuery),
    handler: async (request) => answerRuntimeQuery(options, principalOf(request), request.body),
  });

  api.route({
    ...routeOf(contracts.runtimeQueryGet),
    handler: async (request) => {
      const { type } = request.params;
      const issue = contracts.getFormIssue(type, request.query);
      if (issue) {
        throw new RequestValidationError(
          'query',
          new z.ZodError([{ code: 'custom', path: issue.path, message: issue.message, input: undefined }]),
        );
      }
      return answerRuntimeQuery(options, principalOf(request), contracts.queryFromGet(type, request.query));
    },
  });
};
