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

  it('a new price table: the reader that cached the old one reads the new one next', async () => {
    await ensurePriceTable(writer, new Date());
    expect((await currentPriceTable(reader)).version).toBe(defaultPriceTable.version);
    const heard = announced();
    await setPriceTable(writer, { ...defaultPriceTable, version: 'pricier-2' }, new Date(), actor);
    await heard;
    expect((await currentPriceTable(reader)).version).toBe('pricier-2');
  });

  it('a new failure catalog: likewise', async () => {
    await ensureFailureCatalog(writer, new Date());
    expect((await currentFailureCatalog(reader)).version).toBe(defaultFailureCatalog.version);
    const heard = announced();
    await setFailureCatalog(writer, { ...defaultFailureCatalog, version: 'catalog-2' }, new Date(), actor);
    await heard;
    expect((await currentFailureCatalog(reader)).version).toBe('catalog-2');
  });

  it("a tenant's new policy: likewise", async () => {
    expect((await currentPolicy(reader, 'acme')).version).toBe(defaultPolicy.version);
    const heard = announced();
    await setPolicy(writer, 'acme', { ...defaultPolicy, version: 'strict-2' }, actor);
    await heard;
    expect((await currentPolicy(reader, 'acme')).version).toBe('strict-2');
  });
});
