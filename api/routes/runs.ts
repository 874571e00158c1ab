// Run commands and reads: submit (with Idempotency-Key), simulate, detail, events, cancel,
// approve. Their shapes are in contracts/runs.ts.
import type { FastifyPluginAsync } from 'fastify';
import { readWholeStream, toDomainEvent } from '../../commands/handle-command.ts';
import {
  type CommandDeps,
  cancelRun,
  decideApproval,
  decideRecovery,
  submitParsedRun,
} from '../../commands/run-commands.ts';
import { simulateRun } from '../../commands/simulate-run.ts';
import * as contracts from '../../contracts/runs.ts';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { runStreamId } from '../../domain/run/decider.ts';
import type { EventStore } from '../../domain/store/event-store.ts';
import { runDetailOf, runOutputOf } from '../../projections/run-detail.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

/** The run's events, or a 404 when it does not exist for this tenant. */
async function tenantRun(store: EventStore, tenantId: string, runId: string) {
  const recorded = await readWholeStream(store, runStreamId(runId));
  if (recorded.length === 0 || recorded[0]!.metadata.tenantId !== tenantId) {
    throw new HttpError(404, 'NOT_FOUND', `no run ${runId}`);
  }
  return recorded;
}

export const runRoutes: FastifyPluginAsync<CommandDeps> = async (app, deps) => {
  const api = typed(app);

  api.route({
    ...routeOf(contracts.submitRun),
    handler: async (request, reply) => {
      // The body is parsed by the contract's schema (submitRunRequestSchema) already.
      const receipt = await submitParsedRun(
        deps,
        principalOf(request),
        request.body,
        request.headers['idempotency-key'],
      );
      const { runId, status, streamId, position } = receipt;
      return reply.status(receipt.created ? 202 : 200).send({ runId, status, streamId, position });
    },
  });

  api.route({
    ...routeOf(contracts.simulateRun),
    handler: async (request) => simulateRun(deps, principalOf(request), request.body),
  });

  api.route({
    ...routeOf(contracts.getRun),
    handler: async (request) => {
      const { id } = request.params;
      const recorded = await tenantRun(deps.store, principalOf(request).tenantId, id);
      return runDetailOf(recorded.map((e) => toDomainEvent<RunEvent>(e)))!;
    },
  });

  api.route({
    ...routeOf(contracts.runOutput),
    handler: async (request) => {
      const recorded = await tenantRun(deps.store, principalOf(request).tenantId, request.params.id);
      return runOutputOf(recorded.map((e) => toDomainEvent<RunEvent>(e)));
    },
  });

  api.route({
    ...routeOf(contracts.runEvents),
    handler: async (request) => {
      const { id } = request.params;
      const { from, limit } = request.query;
      const recorded = await tenantRun(deps.store, principalOf(request).tenantId, id);
      return { runId: id, events: recorded.slice(from, from + limit), total: recorded.length };
    },
  });

  api.route({
    ...routeOf(contracts.cancelRun),
    handler: async (request, reply) => {
      const { id } = request.params;
      const handled = await cancelRun(
        deps,
        principalOf(request),
        id,
        request.body.reason,
        request.headers['idempotency-key'],
      );
      return reply.status(202).send({ runId: id, status: handled.state.status, cancelRequested: true });
    },
  });

  api.route({
    ...routeOf(contracts.decideApproval),
    handler: async (request) => {
      const { id, approvalId } = request.params;
      const { decision, comment } = request.body;
      const handled = await decideApproval(deps, principalOf(request), id, approvalId, decision, comment);
      return { runId: id, approvalId, decision, status: handled.state.status };
    },
  });

  api.route({
    ...routeOf(contracts.decideRecovery),
    handler: async (request) => {
      const { id, recoveryId } = request.params;
      const { decision, comment } = request.body;
      const handled = await decideRecovery(deps, principalOf(request), id, recoveryId, decision, comment);
      return { runId: id, recoveryId, decision, status: handled.state.status };
    },
  });
};
