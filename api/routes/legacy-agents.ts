// The older SDK's agent and run routes (contracts/legacy-agents.ts): each calls the same
// command or read as its /v1 route and reshapes the answer.
import type { FastifyPluginAsync } from 'fastify';
import { type AgentDeps, registerAgent, registeredAgent, submitGoal } from '../../commands/agent-commands.ts';
import { readWholeStream, toDomainEvent } from '../../commands/handle-command.ts';
import type { Principal } from '../../commands/run-commands.ts';
import { submitRun } from '../../commands/run-commands.ts';
import * as contracts from '../../contracts/legacy-agents.ts';
import { stepsOfOlderPlan } from '../../contracts/older-sdk-route.ts';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { goalStreamId } from '../../domain/planner/goal-decider.ts';
import { runStreamId } from '../../domain/run/decider.ts';
import { builtinSkillNames } from '../../domain/skill-catalog.ts';
import { legacyRunOf } from '../../projections/legacy-run.ts';
import { runDetailOf, runOutputOf } from '../../projections/run-detail.ts';
import { HttpError } from '../errors.ts';
import { serveOlderSdk } from './older-sdk-route.ts';

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
  serveOlderSdk(app, contracts.legacyCreateAgent, async ({ body, principal }) => {
    const { agentId } = await registerAgent(commands, principal, {
      name: body.name,
      allowedSkills: [...builtinSkillNames],
      defaultBudget: FALLBACK_BUDGET,
    });
    return { agent_id: agentId };
  });

  serveOlderSdk(app, contracts.legacyPostGoal, async ({ params, body, principal }) => ({
    run_id: await plannedRun(commands, principal, params.id, body.goal, body.force_skill),
  }));

  serveOlderSdk(app, contracts.legacyAgentRun, async ({ params, principal }) =>
    legacyRun(commands, principal, params.runId, params.id),
  );

  serveOlderSdk(app, contracts.legacySubmitRun, async ({ body, principal }) => {
    const { agent_id, goal, plan } = body;
    if (!plan) return legacyRun(commands, principal, await plannedRun(commands, principal, agent_id, goal));
    const budget = await registeredAgent(commands, principal.tenantId, agent_id).then(
      (profile) => profile?.defaultBudget ?? FALLBACK_BUDGET,
    );
    const receipt = await submitRun(commands, principal, {
      agentId: agent_id,
      plan: { steps: stepsOfOlderPlan(plan) },
      input: { goal },
      budget,
    });
    return legacyRun(commands, principal, receipt.runId);
  });

  serveOlderSdk(app, contracts.legacyGetRun, async ({ params, principal }) =>
    legacyRun(commands, principal, params.id),
  );
};
