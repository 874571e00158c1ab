// Run commands and run queries. Every route is scoped to the caller's tenant: another
// tenant's run answers 404, exactly like a run that does not exist.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { readWholeStream, toDomainEvent } from '../../commands/handle-command.ts';
import {
  type CommandDeps,
  cancelRun,
  decideApproval,
  simulateRun,
  submitRun,
  submitRunRequestSchema,
} from '../../commands/run-commands.ts';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { runStreamId } from '../../domain/run/decider.ts';
import type { EventStore } from '../../domain/store/event-store.ts';
import { runDetailOf } from '../../projections/run-detail.ts';
import { parseInput } from '../auth/key-routes.ts';
import { principalOf, requirePermission } from '../auth/plugin.ts';
import { HttpError } from '../errors.ts';

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const runParams = z.strictObject({ id: z.uuid() });
const approvalParams = z.strictObject({ id: z.uuid(), approvalId: z.uuid() });
const cancelBody = z.strictObject({ reason: z.string().max(2000).default('cancelled by request') });
const approvalBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
});
const eventsQuery = z.strictObject({
  from: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function runIdOf(params: unknown): string {
  const parsed = runParams.safeParse(params);
  if (!parsed.success) throw new HttpError(404, 'NOT_FOUND', 'no such run');
  return parsed.data.id;
}

function idempotencyKeyOf(headers: Record<string, unknown>): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  return parseInput(idempotencyKeySchema, value, 'Idempotency-Key header');
}

/** The run's events, or a 404 when it does not exist for this tenant. */
async function tenantRun(store: EventStore, tenantId: string, runId: string) {
  const recorded = await readWholeStream(store, runStreamId(runId));
  if (recorded.length === 0 || recorded[0]!.metadata.tenantId !== tenantId) {
    throw new HttpError(404, 'NOT_FOUND', `no run ${runId}`);
  }
  return recorded;
}

export const runRoutes: FastifyPluginAsync<CommandDeps> = async (app, deps) => {
  app.post('/v1/runs', { preHandler: requirePermission('submit') }, async (request, reply) => {
    const principal = principalOf(request);
    const body = parseInput(submitRunRequestSchema, request.body, 'run');
    const receipt = await submitRun(deps, principal, body, idempotencyKeyOf(request.headers));
    const { runId, status, streamId, position } = receipt;
    return reply.status(receipt.created ? 202 : 200).send({ runId, status, streamId, position });
  });

  app.post('/v1/simulate', { preHandler: requirePermission('read') }, async (request) => {
    const body = parseInput(submitRunRequestSchema, request.body, 'plan');
    return simulateRun(deps, principalOf(request), body);
  });

  app.get('/v1/runs/:id', { preHandler: requirePermission('read') }, async (request) => {
    const runId = runIdOf(request.params);
    const recorded = await tenantRun(deps.store, principalOf(request).tenantId, runId);
    return runDetailOf(recorded.map((e) => toDomainEvent<RunEvent>(e)));
  });

  app.get('/v1/runs/:id/events', { preHandler: requirePermission('read') }, async (request) => {
    const runId = runIdOf(request.params);
    const { from, limit } = parseInput(eventsQuery, request.query, 'query');
    const recorded = await tenantRun(deps.store, principalOf(request).tenantId, runId);
    return { runId, events: recorded.slice(from, from + limit), total: recorded.length };
  });

  app.post('/v1/runs/:id/cancel', { preHandler: requirePermission('cancel') }, async (request, reply) => {
    const runId = runIdOf(request.params);
    const { reason } = parseInput(cancelBody, request.body, 'cancellation');
    const handled = await cancelRun(
      deps,
      principalOf(request),
      runId,
      reason,
      idempotencyKeyOf(request.headers),
    );
    return reply.status(202).send({ runId, status: handled.state.status, cancelRequested: true });
  });

  app.post(
    '/v1/runs/:id/approvals/:approvalId',
    { preHandler: requirePermission('approve') },
    async (request) => {
      const parsed = approvalParams.safeParse(request.params);
      if (!parsed.success) throw new HttpError(404, 'NOT_FOUND', 'no such approval');
      const { decision, comment } = parseInput(approvalBody, request.body, 'approval');
      const handled = await decideApproval(
        deps,
        principalOf(request),
        parsed.data.id,
        parsed.data.approvalId,
        decision,
        comment,
      );
      return {
        runId: parsed.data.id,
        approvalId: parsed.data.approvalId,
        decision,
        status: handled.state.status,
      };
    },
  );
};
