// Liveness and readiness: alive while the process runs; ready only while the store answers.
// The Kafka publisher's state is reported beside it but never fails readiness: commands are
// recorded in the store whatever the broker does, and the publisher catches up afterwards.
import type { FastifyPluginAsync } from 'fastify';
import type { EventStore } from '../../domain/store/event-store.ts';
import type { PublisherStatus } from '../../infra/kafka/publisher.ts';

export const healthRoutes: FastifyPluginAsync<{
  store: EventStore;
  publisherStatus?: (() => PublisherStatus | undefined) | undefined;
}> = async (app, { store, publisherStatus }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const publisher = publisherStatus?.();
    try {
      await store.ping();
      return { status: 'ready', ...(publisher ? { kafkaPublisher: publisher } : {}) };
    } catch (error) {
      request.log.warn({ err: error }, 'store not ready');
      return reply
        .status(503)
        .send({ error: { code: 'STORE_UNAVAILABLE', message: 'the event store does not answer' } });
    }
  });
};
