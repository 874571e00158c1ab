// Liveness and readiness: alive while the process runs; ready only while the store answers.
// Ready but degraded (still 200, `status: "degraded"` and a `degraded` list naming each cause)
// while something makes the answers late rather than wrong: today, a transaction that holds
// back every reader of the event store. The Kafka publisher's state is reported beside it but
// never fails readiness: commands are recorded in the store whatever the broker does, and the
// publisher catches up afterwards.
import type { FastifyPluginAsync } from 'fastify';
import { healthz, readyz } from '../../contracts/ops.ts';
import type { EventStore } from '../../domain/store/event-store.ts';
import type { PublisherStatus } from '../../infra/kafka/publisher.ts';
import type { BlockingBackend, ReadHorizon } from '../../infra/store/read-horizon.ts';
import { routeOf, typed } from '../contract-route.ts';

export interface Degradation {
  cause: 'read_horizon_held';
  message: string;
  blockingBackend: BlockingBackend;
}

export interface HealthRoutesOptions {
  store: EventStore;
  publisherStatus?: (() => PublisherStatus | undefined) | undefined;
  /** The read-horizon monitor's last observation, and how long a hold may last unreported. */
  readHorizon?: (() => ReadHorizon | undefined) | undefined;
  readHorizonWarnSeconds?: number | undefined;
}

function degradations(horizon: ReadHorizon | undefined, warnAfterSeconds: number): Degradation[] {
  const blocker = horizon?.blocker;
  if (!blocker || blocker.ageSeconds < warnAfterSeconds) return [];
  return [
    {
      cause: 'read_horizon_held',
      message: `a transaction open ${Math.round(blocker.ageSeconds)} s (pid ${blocker.pid}, database ${blocker.database}) holds back the read models`,
      blockingBackend: blocker,
    },
  ];
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (
  app,
  { store, publisherStatus, readHorizon, readHorizonWarnSeconds = 30 },
) => {
  const api = typed(app);
  api.route({ ...routeOf(healthz), handler: async () => ({ status: 'ok' as const }) });
  api.route({
    ...routeOf(readyz),
    handler: async (request, reply) => {
      const publisher = publisherStatus?.();
      try {
        await store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'store not ready');
        return reply
          .status(503)
          .send({ error: { code: 'STORE_UNAVAILABLE', message: 'the event store does not answer' } });
      }
      const degraded = degradations(readHorizon?.(), readHorizonWarnSeconds);
      return {
        status: degraded.length > 0 ? ('degraded' as const) : ('ready' as const),
        ...(degraded.length > 0 ? { degraded } : {}),
        ...(publisher ? { kafkaPublisher: publisher } : {}),
      };
    },
  });
};
