// The readers' horizon: a transaction open in another database of the cluster does not hold
// back readAll (it used to: the snapshot's xmin is cluster-wide); one open in this database
// still does, and is named (pid, database, age, query start) by readHorizon and the monitor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { monitorReadHorizon, readHorizon } from '../../infra/store/read-horizon.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { events, sleep } from '../support/events.ts';
import { type OpenTransaction, openWriteTransaction, otherDatabaseUrl } from '../support/open-transaction.ts';
import { databaseUrl } from '../support/postgres.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

describe.runIf(await postgresAdapter.available())('read horizon on PostgreSQL', () => {
  let harness: StoreHarness<SqlEventStore>;
  let open: OpenTransaction | undefined;
  beforeEach(async () => {
    harness = await postgresAdapter.open();
  });
  afterEach(async () => {
    await open?.commit().catch(() => {});
    open = undefined;
    await harness.cleanup();
  });

  it('reads past a write transaction held open in another database of the cluster', async () => {
    const { store } = harness;
    open = await openWriteTransaction(await otherDatabaseUrl());
    const [event] = events(1);
    await store.append('horizon-1', [event!], { expectedVersion: 'no_stream' });

    const page = await store.readAll();
    expect(page.events.map((e) => e.eventId)).toEqual([event!.eventId]);
    expect(await readHorizon(store.client)).toEqual({ heldSeconds: 0, blocker: null });
  });

  it('still waits for a write transaction of this database, and names it', async () => {
    const { store } = harness;
    open = await openWriteTransaction(databaseUrl);
    const [event] = events(1);
    await store.append('horizon-2', [event!], { expectedVersion: 'no_stream' });
    await sleep(50);

    expect((await store.readAll()).events).toEqual([]);
    const held = await readHorizon(store.client);
    expect(held.blocker).toMatchObject({
      pid: open.pid,
      database: open.database,
      applicationName: 'aos-test-long-transaction',
      state: 'idle in transaction',
    });
    expect(held.heldSeconds).toBeGreaterThan(0.04);
    expect(Date.parse(held.blocker!.queryStart!)).toBeLessThanOrEqual(Date.now());

    await open.commit();
    open = undefined;
    expect((await store.readAll()).events.map((e) => e.eventId)).toEqual([event!.eventId]);
  });

  it('logs one warning naming the blocking backend, and when it has ended', async () => {
    const { store } = harness;
    const lines: { level: string; fields: object; message: string }[] = [];
    const log = {
      warn: (fields: object, message: string) => lines.push({ level: 'warn', fields, message }),
      info: (fields: object, message: string) => lines.push({ level: 'info', fields, message }),
    };
    open = await openWriteTransaction(databaseUrl);
    const monitor = monitorReadHorizon(store.client, { intervalMs: 20, warnAfterSeconds: 0.1, log });
    try {
      await sleep(400);
      const { pid } = open;
      await open.commit();
      open = undefined;
      await sleep(150);
      expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
      expect(lines[0]!.message).toContain(`pid ${pid}`);
      expect(lines[0]!.fields).toMatchObject({ blockingBackend: { pid, database: expect.any(String) } });
      expect(monitor.current()).toEqual({ heldSeconds: 0, blocker: null });
    } finally {
      await monitor.stop();
    }
  });
});

describe('read horizon on PGlite', () => {
  it('has one backend, so nothing ever holds its readers back', async () => {
    const harness = await pgliteAdapter.open();
    try {
      await harness.store.append('horizon-3', events(2), { expectedVersion: 'no_stream' });
      expect((await harness.store.readAll()).events).toHaveLength(2);
      expect(await readHorizon(harness.store.client)).toEqual({ heldSeconds: 0, blocker: null });
    } finally {
      await harness.cleanup();
    }
  });
});
