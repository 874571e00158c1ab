// Reference data put in force by another process is announced (migration 170's trigger) and
// forgotten where it was cached, so the next read there sees the new version at once instead
// of after the cache's time to live.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchReferenceWrites } from '../../commands/reference-cache.ts';
import {
  currentFailureCatalog,
  currentPolicy,
  currentPriceTable,
  ensureFailureCatalog,
  ensurePriceTable,
  setFailureCatalog,
  setPolicy,
  setPriceTable,
} from '../../commands/reference-data.ts';
import { defaultFailureCatalog } from '../../domain/failure-catalog-default.ts';
import { defaultPolicy } from '../../domain/policy-rules.ts';
import { defaultPriceTable } from '../../domain/price-table.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const adapters = [pgliteAdapter, ...((await postgresAdapter.available()) ? [postgresAdapter] : [])];
const actor = { id: 'ops', role: 'admin' } as const;

/** Each kind of reference data: how it is first put in force, read, and replaced by another version. */
const kinds = [
  {
    name: 'a new price table',
    start: (store: SqlEventStore) => ensurePriceTable(store, new Date()),
    read: async (store: SqlEventStore) => (await currentPriceTable(store)).version,
    put: (store: SqlEventStore) =>
      setPriceTable(store, { ...defaultPriceTable, version: 'pricier-2' }, new Date(), actor),
    before: defaultPriceTable.version,
    after: 'pricier-2',
  },
  {
    name: 'a new failure catalog',
    start: (store: SqlEventStore) => ensureFailureCatalog(store, new Date()),
    read: async (store: SqlEventStore) => (await currentFailureCatalog(store)).version,
    put: (store: SqlEventStore) =>
      setFailureCatalog(store, { ...defaultFailureCatalog, version: 'catalog-2' }, new Date(), actor),
    before: defaultFailureCatalog.version,
    after: 'catalog-2',
  },
  {
    name: "a tenant's new policy",
    start: async () => {},
    read: async (store: SqlEventStore) => (await currentPolicy(store, 'acme')).version,
    put: (store: SqlEventStore) => setPolicy(store, 'acme', { ...defaultPolicy, version: 'strict-2' }, actor),
    before: defaultPolicy.version,
    after: 'strict-2',
  },
];

describe.each(adapters)('reference data written by another process on $name', (adapter) => {
  let harness: StoreHarness<SqlEventStore>;
  let writer: SqlEventStore;
  let reader: SqlEventStore;
  let unwatch: (() => Promise<void>) | undefined;
  let announced: () => Promise<void>;

  beforeEach(async () => {
    harness = await adapter.open();
    await migrate(harness.store.client, allMigrations);
    writer = harness.store;
    reader = harness.another!();
    let heard: (() => void) | undefined;
    // Resolves at the next announcement the reader hears (after it has forgotten its cache).
    announced = () => new Promise<void>((resolve) => (heard = resolve));
    unwatch = await watchReferenceWrites(reader, (channel, onNotify) =>
      reader.client.listen(channel, () => {
        onNotify();
        heard?.();
      }),
    );
  });
  afterEach(async () => {
    await unwatch?.();
    await harness.cleanup();
  });

  it.each(kinds)('$name: the reader that cached the old one reads the new one next', async (kind) => {
    await kind.start(writer);
    expect(await kind.read(reader)).toBe(kind.before);
    const heard = announced();
    await kind.put(writer);
    await heard;
    expect(await kind.read(reader)).toBe(kind.after);
  });
});
