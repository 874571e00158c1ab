// Estimator validation routes (contracts/estimators.ts): reference datasets (the shipped ones
// and uploads recorded as events), validation on demand (offline: nothing is written), the
// canary's reports and the drift breaker.
import type { FastifyPluginAsync } from 'fastify';
import { breakerState, enableEstimator } from '../../commands/estimator-breaker.ts';
import { CANARY_STREAM, type CanaryDeps, runCanary } from '../../commands/estimator-canary.ts';
import { type DatasetInForce, datasetsInForce, uploadDataset } from '../../commands/estimator-datasets.ts';
import { currentPriceTable } from '../../commands/reference-data.ts';
import type { CommandDeps } from '../../commands/run-commands.ts';
import * as contracts from '../../contracts/estimators.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { basisOf } from '../../domain/estimator-breaker.ts';
import type { CanaryReport } from '../../domain/estimator-canary.ts';
import { estimatorNames } from '../../domain/estimator-dataset.ts';
import { validateDataset } from '../../domain/estimator-validation.ts';
import { withPriceTableHash } from '../../domain/pricing.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { shippedDatasets } from '../shipped-datasets.ts';

const summaryOf = ({ dataset, ...version }: DatasetInForce) => ({
  name: dataset.name,
  version: dataset.version,
  kind: dataset.kind,
  description: dataset.description,
  samples: dataset.samples.length,
  ...version,
});

const notFound = (name: string) => new DomainError('NOT_FOUND', `no estimator dataset ${name}`);

/** A recorded canary as the routes show it: the report without its sample's plans. */
export function canaryView(event: RecordedEvent) {
  const { sample, ...report } = event.data as CanaryReport;
  return {
    ...report,
    sampleSize: sample.length,
    position: event.streamPosition,
    recordedAt: event.recordedAt,
  };
}

export const estimatorRoutes: FastifyPluginAsync<{
  commands: CommandDeps;
  canary?: CanaryDeps | undefined;
}> = async (app, { commands: deps, canary }) => {
  const api = typed(app);
  const { store } = deps;
  const inForce = async () => datasetsInForce(store, await shippedDatasets());

  api.route({
    ...routeOf(contracts.putDataset),
    handler: async (request) => {
      const { name } = request.params;
      if (request.body.name !== name) {
        const message = `must be the name in the URL, ${name}`;
        throw new DomainError('INVALID_INPUT', `name: ${message}`, { issues: [{ path: ['name'], message }] });
      }
      const { changed } = await uploadDataset(store, request.body, principalOf(request).actor);
      const uploaded = (await inForce()).find((entry) => entry.dataset.name === name)!;
      return { changed, dataset: summaryOf(uploaded) };
    },
  });

  api.route({
    ...routeOf(contracts.listDatasets),
    handler: async () => ({ items: (await inForce()).map(summaryOf) }),
  });

  api.route({
    ...routeOf(contracts.getDataset),
    handler: async (request) => {
      const found = (await inForce()).find((entry) => entry.dataset.name === request.params.name);
      if (!found) throw notFound(request.params.name);
      return found;
    },
  });

  api.route({
    ...routeOf(contracts.validateEstimators),
    handler: async (request) => {
      const { dataset, priceTable: whatIf } = request.body;
      const datasets = (await inForce()).filter(
        (entry) => dataset === undefined || entry.dataset.name === dataset,
      );
      if (datasets.length === 0) throw notFound(dataset!);
      const priceTable = whatIf ? withPriceTableHash(whatIf) : await currentPriceTable(store);
      const reports = datasets.map((entry) => {
        const report = validateDataset(entry.dataset, priceTable);
        // The worst samples stay; every sample is for charts (the CLI's --html), not for the wire.
        return { ...report, estimators: report.estimators.map(({ samples: _, ...result }) => result) };
      });
      return {
        priceTable: { version: priceTable.version, hash: priceTable.hash },
        ok: reports.every((report) => report.estimators.every((result) => result.asExpected)),
        reports,
      };
    },
  });

  if (canary) {
    api.route({
      ...routeOf(contracts.runCanary),
      handler: async () => {
        const outcome = await runCanary(canary, 'on_demand');
        return outcome.ran ? { ran: true, report: canaryView(outcome.event) } : { ran: false, report: null };
      },
    });
  }

  api.route({
    ...routeOf(contracts.listCanaryReports),
    handler: async (request) => {
      const events = await store.readStream(CANARY_STREAM, {
        direction: 'backward',
        limit: request.query.limit,
      });
      return { items: events.map(canaryView) };
    },
  });

  const stateView = (state: Awaited<ReturnType<typeof breakerState>>) =>
    estimatorNames.map((estimator) => ({ estimator, ...state[estimator] }));

  api.route({
    ...routeOf(contracts.estimatorStatus),
    handler: async () => {
      const state = await breakerState(store);
      return {
        basis: basisOf(state).estimator,
        autoRecovery: canary?.policy.autoRecovery ?? false,
        estimators: stateView(state),
      };
    },
  });

  api.route({
    ...routeOf(contracts.enableEstimator),
    handler: async (request) => {
      const { estimator } = request.params;
      const enabled = await enableEstimator(
        store,
        estimator,
        request.body.reason,
        principalOf(request).actor,
        deps.clock(),
      );
      return { changed: enabled.changed, state: { estimator, ...enabled.state } };
    },
  });
};
