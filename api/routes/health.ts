// Liveness and readiness: alive while the process runs; ready only while the store answers.
import type { FastifyPluginAsync } from 'fastify';
import type { EventStore } from '../../domain/store/event-store.ts';

export const healthRoutes: FastifyPluginAsync<{ store: EventStore }> = async (app, { store }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await store.ping();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'store not ready');
      return reply
        .status(503)
        .send({ error: { code: 'STORE_UNAVAILABLE', message: 'the event store does not answer' } });
    }
  });
};
