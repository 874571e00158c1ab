// The older SDK's agent and run routes (contracts/legacy-agents.ts): each calls the same
// command or read as its /v1 route and reshapes the answer.
import type { FastifyPluginAsync } from 'fastify';
import { type AgentDeps, agentProfile, registerAgent, submitGoal } from '../../commands/agent-commands.ts';
import { readWholeStream, toDomainEvent } from '../../commands/handle-command.ts';
import type { Principal } from '../../commands/run-commands.ts';
import { submitRun } from '../../commands/run-commands.ts';
import * as contracts from '../../contracts/legacy-agents.ts';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { goalStreamId } from '../../domain/planner/goal-decider.ts';
import { runStreamId } from '../../domain/run/decider.ts';
import { builtinSkillNames } from '../../domain/skill-catalog.ts';
import { legacyRunOf } from '../../projections/legacy-run.ts';
import { runDetailOf, runOutputOf } from '../../projections/run-detail.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

/** The older clients name no budget: a registered agent's default, else one dollar. */
const FALLBACK_BUDGET = { maxCostMicros: 1_000_000 };

/** The run in the older shape, with its goal (the planned goal's, or the run input's). */
async function legacyRun(deps: AgentDeps, principal: Principal, runId: string, agentId?: string) {
  const recorded = await readWholeStream(deps.store, runStreamId(runId));
  const events = recorded.map((e) => toDomainEvent<RunEvent>(e));
  const detail = recorded[0]?.metadata.tenantId === principal.tenantId ? runDetailOf(events) : null;
  if (!detail || (agentId !== undefined && detail.agentId !== agentId)) {
    throw new HttpError(404, 'NOT_FOUND', `no run ${runId}`);
  }
  const [requested] = await deps.store.readStream(goalStreamId(runId), { limit: 1 });
  const input = (recorded[0]!.data as { input?: { goal?: unknown } }).input;
  const goal =
    (requested?.data as { goal?: string } | undefined)?.goal ??
    (typeof input?.goal === 'string' ? input.goal : '');
  const data = runOutputOf(events).output ?? detail.steps.at(-1)?.output?.value;
  return legacyRunOf(detail, goal, data);
}

/** A goal's run id, or the 422 of its rejected plan in the one error shape. */
async function plannedRun(
  deps: AgentDeps,
  principal: Principal,
  agentId: string,
  goal: string,
  forceSkill?: string,
) {
  const outcome = await submitGoal(deps, principal, agentId, {
    goal,
    ...(forceSkill ? { input: { forceSkill } } : {}),
  });
  if (outcome.accepted) return outcome.receipt.runId;
  throw new HttpError(422, 'PLAN_REJECTED', 'the planned goal was rejected', {
    violations: outcome.violations,
    runId: outcome.runId,
  });
}

export const legacyAgentRoutes: FastifyPluginAsync<{ commands: AgentDeps }> = async (app, { commands }) => {
  const api = typed(app);

  api.route({
    ...routeOf(contracts.legacyCreateAgent),
    handler: async (request, reply) => {
      const { agentId } = await registerAgent(commands, principalOf(request), {
        name: request.body.name,
        allowedSkills: [...builtinSkillNames],
        defaultBudget: FALLBACK_BUDGET,
      });
      return reply.status(201).send({ agent_id: agentId });
    },
  });

  api.route({
    ...routeOf(contracts.legacyPostGoal),
    handler: async (request, reply) => {
      const { goal, force_skill } = request.body;
      const runId = await plannedRun(commands, principalOf(request), request.params.id, goal, force_skill);
      return reply.status(202).send({ run_id: runId });
    },
  });

  api.route({
    ...routeOf(contracts.legacyAgentRun),
    handler: async (request) =>
      legacyRun(commands, principalOf(request), request.params.runId, request.params.id),
  });

  api.route({
    ...routeOf(contracts.legacySubmitRun),
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const { agent_id, goal, plan } = request.body;
      if (!plan) {
        const runId = await plannedRun(commands, principal, agent_id, goal);
        return reply.status(202).send(await legacyRun(commands, principal, runId));
      }
      const budget = await agentProfile(commands, principal.tenantId, agent_id).then(
        (profile) => profile.defaultBudget,
        () => FALLBACK_BUDGET,
      );
      const receipt = await submitRun(commands, principal, {
        agentId: agent_id,
        plan: { steps: plan.map((step) => ({ skill: step.skill, input: step.params })) },
        input: { goal },
        budget,
      });
      return reply.status(202).send(await legacyRun(commands, principal, receipt.runId));
    },
  });

  api.route({
    ...routeOf(contracts.legacyGetRun),
    handler: async (request) => legacyRun(commands, principalOf(request), request.params.id),
  });
};
