// The read models fed from Kafka, with their rebuilds: a projection whose version changed (or
// that an operator rebuilds) is built beside its live tables from the store and swapped in
// once it has caught up with the consumers (kafka-rebuild.ts), while the consumer group folds
// the others. `aos serve` with AOS_PROJECTIONS_SOURCE=kafka and `aos consume` run this.
import type { AnyProjection } from '../../projections/projection.ts';
import { type RunningProjections, startProjections } from '../../readmodels/projection-runner.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';
import { appliedByConsumers } from './kafka-rebuild.ts';
import { type KafkaProjectionOptions, startKafkaProjections } from './projection-consumer.ts';

export async function startKafkaReadModels(
  store: SqlEventStore,
  options: KafkaProjectionOptions & {
    projections: readonly AnyProjection[];
    onError?: (error: unknown) => void;
  },
): Promise<RunningProjections> {
  const { onError, ...consumerOptions } = options;
  // First: versions recorded and changed projections' builds started, so the consumers
  // (which fold only current projections) leave those alone from their first batch.
  const builds = await startProjections(store, options.projections, {
    pollIntervalMs: 250,
    ...(onError ? { onError } : {}),
    liveConsumers: false,
    source: appliedByConsumers,
  });
  const consumers = await startKafkaProjections(store.client, consumerOptions);
  return {
    rebuild: (name) => builds.rebuild(name),
    async stop() {
      await consumers.stop();
      await builds.stop();
    },
  };
}
