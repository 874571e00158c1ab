// Skills and capabilities: what an agent may ask before it plans. Shapes: contracts/skills.ts.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { registeredAgent } from '../../commands/agent-commands.ts';
import { skillPermissions } from '../../commands/capabilities.ts';
import { currentPriceTable, policyInForce } from '../../commands/reference-data.ts';
import type { CommandDeps } from '../../commands/run-commands.ts';
import type { Capabilities } from '../../contracts/skills.ts';
import * as contracts from '../../contracts/skills.ts';
import { MAX_PARALLEL_LIMIT } from '../../domain/plan/schema.ts';
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS } from '../../domain/run/commands.ts';
import {
  type CallLimits,
  type SkillDescription,
  skillContractOf,
  skillSummaryOf,
} from '../../domain/skill-contract.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { budgetDayUsage } from '../../infra/executor/budget-day-usage.ts';
import { breakers, observedLatency } from '../../readmodels/queries.ts';
import { permissions } from '../auth/permissions.ts';
import { type Principal, principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';
import { KEY_HEADERS, TENANT_HEADERS } from '../rate-limit.ts';

export interface SkillRoutesOptions {
  commands: CommandDeps;
  /** Where the budget day's counters are. */
  sql: Pick<SqlExecutor, 'query'>;
  limits: CallLimits & { dayLimitMicros: number; tenantRequestsPerMinute: number };
}

/** The skills the port serves, each name once, at the version a call without one gets. */
export function latestSkills(skills: CommandDeps['skills']): SkillDescription[] {
  const names = [...new Set((skills.list?.() ?? []).map((skill) => skill.name))];
  return names.flatMap((name) => skills.resolve?.(name) ?? []);
}

const versionsOf = (skills: CommandDeps['skills'], name: string) =>
  (skills.list?.() ?? []).filter((skill) => skill.name === name).map((skill) => skill.version);

/** `llm_invoke` or `llm_invoke@1.0.0`; 404 when the port has no such skill or version. */
export function resolveSkill(skills: CommandDeps['skills'], nameAndVersion: string): SkillDescription {
  const [name = '', version] = nameAndVersion.split('@');
  const found = skills.resolve?.(name, version);
  if (!found) throw new HttpError(404, 'NOT_FOUND', `no skill ${nameAndVersion}`);
  return found;
}

/** A rate limit's count for this request (its headers are set before the handler). */
function rateLimitOf(
  reply: FastifyReply,
  fallbackLimit: number,
  per: 'API key' | 'tenant',
): Capabilities['rateLimit'] {
  const names = per === 'tenant' ? TENANT_HEADERS : KEY_HEADERS;
  const header = (name: string, fallback: number) => {
    const value = Number(reply.getHeader(name));
    return Number.isFinite(value) && reply.hasHeader(name) ? value : fallback;
  };
  const limit = header(names.limit, fallbackLimit);
  const remaining = header(names.remaining, limit);
  return { limit, used: limit - remaining, remaining, resetsInSeconds: header(names.reset, 60), per };
}

export async function capabilitiesOf(
  options: SkillRoutesOptions,
  principal: Principal,
  agentId: string | undefined,
  reply: FastifyReply,
): Promise<Capabilities> {
  const { commands, limits } = options;
  const [policy, usage, agent, circuitBreakers] = await Promise.all([
    policyInForce(commands, principal.tenantId),
    budgetDayUsage(options.sql, principal.tenantId, commands.clock()),
    agentId === undefined ? null : registeredAgent(commands, principal.tenantId, agentId),
    breakers(options.sql, principal.tenantId),
  ]);
  const day = usage.scopes.find((scope) => scope.scope === '');
  const committed = (day?.reservedMicros ?? 0) + (day?.settledMicros ?? 0);
  return {
    tenantId: principal.tenantId,
    agentId: agentId ?? null,
    agent: agent && {
      name: agent.name,
      allowedSkills: agent.allowedSkills,
      defaultBudget: agent.defaultBudget,
      planner: agent.planner,
    },
    role: principal.role,
    permissions: [...(permissions[principal.role] ?? [])],
    policy: { version: policy.version, hash: policy.hash },
    skills: skillPermissions(policy, latestSkills(commands.skills), agent),
    budget: {
      day: usage.day,
      limitMicros: limits.dayLimitMicros,
      reservedMicros: day?.reservedMicros ?? 0,
      settledMicros: day?.settledMicros ?? 0,
      remainingMicros: Math.max(0, limits.dayLimitMicros - committed),
      models: usage.scopes
        .filter((scope) => scope.scope !== '')
        .map((scope) => ({
          model: scope.scope,
          reservedMicros: scope.reservedMicros,
          settledMicros: scope.settledMicros,
          capMicros: scope.limitMicros,
        })),
    },
    rateLimit: rateLimitOf(reply, limits.requestsPerMinute, 'API key'),
    tenantRateLimit: rateLimitOf(reply, limits.tenantRequestsPerMinute, 'tenant'),
    breakers: circuitBreakers,
    runLimits: {
      defaultMaxSteps: DEFAULT_MAX_STEPS,
      defaultDeadlineMs: DEFAULT_DEADLINE_MS,
      maxParallel: MAX_PARALLEL_LIMIT,
      maxCostMicrosPerCall: policy.rules.maxCostMicrosPerCall ?? null,
      callTimeoutMs: limits.callTimeoutMs,
      maxRequestBytes: limits.maxRequestBytes,
    },
  };
}

export async function skillContract(
  options: SkillRoutesOptions,
  principal: Principal,
  nameAndVersion: string,
) {
  const skill = resolveSkill(options.commands.skills, nameAndVersion);
  const [priceTable, observed] = await Promise.all([
    currentPriceTable(options.commands.store),
    observedLatency(options.sql, principal.tenantId, skill.name),
  ]);
  return skillContractOf(skill, {
    priceTable,
    limits: options.limits,
    observed,
    versions: versionsOf(options.commands.skills, skill.name),
  });
}

export const skillRoutes: FastifyPluginAsync<SkillRoutesOptions> = async (app, options) => {
  const api = typed(app);
  const { skills } = options.commands;

  api.route({
    ...routeOf(contracts.listSkills),
    handler: async () => {
      const listed = latestSkills(skills).map((skill) =>
        skillSummaryOf(skill, versionsOf(skills, skill.name)),
      );
      return { skills: listed, count: listed.length };
    },
  });

  api.route({
    ...routeOf(contracts.getSkill),
    handler: async (request) => skillContract(options, principalOf(request), request.params.name),
  });

  api.route({
    ...routeOf(contracts.capabilities),
    handler: async (request, reply) =>
      capabilitiesOf(options, principalOf(request), request.query.agentId, reply),
  });
};
