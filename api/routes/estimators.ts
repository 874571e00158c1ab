// Estimator validation routes (contracts/estimators.ts): reference datasets (the shipped ones
// and uploads recorded as events), validation on demand (offline: nothing is written), the
// canary's reports and the drift breaker.
import type { FastifyPluginAsync } from 'fastify';
import { type DatasetInForce, datasetsInForce, uploadDataset } from '../../commands/estimator-datasets.ts';
import { currentPriceTable } from '../../commands/reference-data.ts';
import type { CommandDeps } from '../../commands/run-commands.ts';
import * as contracts from '../../contracts/estimators.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { validateDataset } from '../../domain/estimator-validation.ts';
import { withPriceTableHash } from '../../domain/pricing.ts';
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

export const estimatorRoutes: FastifyPluginAsync<CommandDeps> = async (app, deps) => {
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
};
