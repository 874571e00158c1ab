// Policy and price-table routes (contracts/reference-data.ts) over commands/reference-data.ts.
// The body is validated by the route's schema (the domain's own policy and price-table
// schemas) before anything is read, so a bad one is a 400 naming the field and writes nothing.
import type { FastifyPluginAsync } from 'fastify';
import {
  currentPolicy,
  failureCatalogHistory,
  failureCatalogInForce,
  type InForce,
  policyHistory,
  policyVersionInForce,
  priceTableHistory,
  priceTableInForce,
  setFailureCatalog,
  setPolicy,
  setPriceTable,
} from '../../commands/reference-data.ts';
import type { CommandDeps } from '../../commands/run-commands.ts';
import * as contracts from '../../contracts/reference-data.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';

/** A recorded version as the routes show it: its content beside where and when it was recorded. */
const versionView = <T extends object>({ value, position, recordedAt, actor }: InForce<T>) => ({
  ...value,
  position,
  recordedAt,
  actor,
});

export const referenceDataRoutes: FastifyPluginAsync<CommandDeps> = async (app, deps) => {
  const api = typed(app);
  const { store } = deps;

  api.route({
    ...routeOf(contracts.setPolicy),
    handler: async (request) => {
      const { tenantId, actor } = principalOf(request);
      const put = await setPolicy(store, tenantId, request.body, actor);
      return { changed: put.changed, policy: versionView(put.policy) };
    },
  });

  api.route({
    ...routeOf(contracts.getPolicy),
    handler: async (request) => {
      const { tenantId } = principalOf(request);
      const published = await policyVersionInForce(store, tenantId);
      if (published) return { ...versionView(published), source: 'published' as const };
      const policy = await currentPolicy(store, tenantId);
      return { ...policy, source: 'default' as const, position: null, recordedAt: null, actor: null };
    },
  });

  api.route({
    ...routeOf(contracts.policyHistory),
    handler: async (request) => ({
      items: (await policyHistory(store, principalOf(request).tenantId)).map(versionView),
    }),
  });

  api.route({
    ...routeOf(contracts.setPriceTable),
    handler: async (request) => {
      const put = await setPriceTable(store, request.body, deps.clock(), principalOf(request).actor);
      return { changed: put.changed, priceTable: versionView(put.priceTable) };
    },
  });

  api.route({
    ...routeOf(contracts.getPriceTable),
    // Recorded at first start (ensurePriceTable), so there is always one.
    handler: async () => versionView((await priceTableInForce(store))!),
  });

  api.route({
    ...routeOf(contracts.priceTableHistory),
    handler: async () => ({ items: (await priceTableHistory(store)).map(versionView) }),
  });

  api.route({
    ...routeOf(contracts.setFailureCatalog),
    handler: async (request) => {
      const put = await setFailureCatalog(store, request.body, deps.clock(), principalOf(request).actor);
      return { changed: put.changed, failureCatalog: versionView(put.failureCatalog) };
    },
  });

  api.route({
    ...routeOf(contracts.getFailureCatalog),
    // Recorded at first start (ensureFailureCatalog), so there is always one.
    handler: async () => versionView((await failureCatalogInForce(store))!),
  });

  api.route({
    ...routeOf(contracts.failureCatalogHistory),
    handler: async () => ({ items: (await failureCatalogHistory(store)).map(versionView) }),
  });
};
