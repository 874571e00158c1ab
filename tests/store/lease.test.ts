// The named lease both stores run: one holder at a time, taken over once it expires,
// handed over at once when released, and given up by a holder that cannot renew it in time.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLease, startLease } from '../../infra/store/lease.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { sleep, until } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`lease (${adapter.name})`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await adapter.open();
    });
    afterEach(() => harness.cleanup());

    it('has one holder; another gets it only once it has expired', async () => {
      const sql = harness.store.client;
      expect(await acquireLease(sql, 'work', 'a', 300)).toBe(true);
      expect(await acquireLease(sql, 'work', 'b', 300)).toBe(false);
      expect(await acquireLease(sql, 'work', 'a', 300)).toBe(true); // a renewal
      expect(await acquireLease(sql, 'other', 'b', 300)).toBe(true); // leases are per name
      await sleep(350);
      expect(await acquireLease(sql, 'work', 'b', 300)).toBe(true);
      expect(await acquireLease(sql, 'work', 'a', 300)).toBe(false);
    });

    it('elects one of two, hands over at once on release, and after expiry when the holder dies', async () => {
      const sql = harness.store.client;
      const changes: string[] = [];
      const a = startLease(sql, {
        name: 'work',
        holder: 'a',
        ttlMs: 400,
        onChange: (h) => void changes.push(`a:${h}`),
      });
      await until('a holds it', () => a.held());
      const b = startLease(sql, {
        name: 'work',
        holder: 'b',
        ttlMs: 400,
        onChange: (h) => void changes.push(`b:${h}`),
      });
      await sleep(500);
      expect([a.held(), b.held()]).toEqual([true, false]);
      await a.release();
      await until('b took over', () => b.held(), 1000);
      expect(changes).toEqual(['a:true', 'a:false', 'b:true']);

      // Another holder in the row (b's lease taken over while it could not renew): b stops holding it.
      await sql.query(`UPDATE aos_leases SET holder = 'someone-else' WHERE name = 'work'`);
      await until('b saw it lost', () => !b.held(), 1000);
      await b.release();
      // A holder that died (its row left, never renewed, as after kill -9): the next one waits for expiry.
      await sql.query(`UPDATE aos_leases SET holder = 'dead', expires_at = now() + interval '400 ms'`);
      const c = startLease(sql, { name: 'work', holder: 'c', ttlMs: 400 });
      const started = Date.now();
      await until('c took over the expired lease', () => c.held(), 2000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(1000);
      await c.release();
      expect(await sql.query('SELECT * FROM aos_leases')).toEqual([]);
    });
  });
}
