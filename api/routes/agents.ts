// Agent routes (contracts/agents.ts): registration, profiles read from the agents read model,
// and goals planned and submitted by commands/agent-commands.ts.
import type { FastifyPluginAsync } from 'fastify';
import { type AgentDeps, registerAgent, submitGoal } from '../../commands/agent-commands.ts';
import * as contracts from '../../contracts/agents.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { agentWithRuns, listAgents } from '../../readmodels/queries.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

export interface AgentRoutesOptions {
  commands: AgentDeps;
  sql: Pick<SqlExecutor, 'query'>;
}

export const agentRoutes: FastifyPluginAsync<AgentRoutesOptions> = async (app, { commands, sql }) => {
  const api = typed(app);

  api.route({
    ...routeOf(contracts.registerAgent),
    handler: async (request, reply) => {
      const registered = await registerAgent(
        commands,
        principalOf(request),
        request.body,
        request.headers['idempotency-key'],
      );
      return reply.status(registered.created ? 201 : 200).send(registered);
    },
  });

  api.route({
    ...routeOf(contracts.listAgents),
    handler: async (request) => ({
      items: (await listAgents(
        sql,
        principalOf(request).tenantId,
        request.query.limit,
      )) as contracts.AgentView[],
    }),
  });

  api.route({
    ...routeOf(contracts.getAgent),
    handler: async (request) => {
      const { id } = request.params;
      const agent = await agentWithRuns(sql, principalOf(request).tenantId, id, request.query.runs);
      if (!agent) throw new HttpError(404, 'NOT_FOUND', `no agent ${id}`);
      return agent as never;
    },
  });

  api.route({
    ...routeOf(contracts.submitGoal),
    handler: async (request, reply) => {
      const outcome = await submitGoal(
        commands,
        principalOf(request),
        request.params.id,
        request.body,
        request.headers['idempotency-key'],
      );
      if (!outcome.accepted) {
        const listed = outcome.violations.map((v) => `${v.path}: ${v.message}`).join('; ');
        return reply.status(422).send({
          error: {
            code: 'PLAN_REJECTED',
            message: `the planner's plan was rejected: ${listed}`,
            details: { runId: outcome.runId, violations: outcome.violations },
          },
        });
      }
      const { runId, status, streamId, position, created } = outcome.receipt;
      return reply.status(created ? 202 : 200).send({ runId, status, streamId, position });
    },
  });
};
