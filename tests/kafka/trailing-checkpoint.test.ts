// The publisher's checkpoint moved one batch behind the sends: the moves are held in flight
// here to show that each starts only once the previous one settled, from the checkpoint it
// wrote; that a lost lease refuses the move under way and the next one is never started; and
// that a failed move is reported and then covered by the next one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { trailingCheckpoint } from '../../infra/kafka/trailing-checkpoint.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { acquireLease } from '../../infra/store/lease.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { sleep } from '../support/events.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

const NAME = 'kafka-publisher';
const HOLDER = 'me';

interface HeldMove {
  from: string;
  to: string;
  release(): void;
  fail(error: Error): void;
}

/** The store's SQL, each checkpoint UPDATE held until the test releases or fails it. */
function heldMoves(sql: SqlExecutor) {
  const moves: HeldMove[] = [];
  const held: SqlExecutor = {
    exec: (text) => sql.exec(text),
    async query<R>(text: string, params: unknown[] = []) {
      if (text.trimStart().startsWith('UPDATE aos_checkpoints')) {
        await new Promise<void>((release, fail) => {
          moves.push({ from: String(params[1]), to: String(params[2]), release, fail });
        });
      }
      return sql.query<R>(text, params);
    },
  };
  return { sql: held, moves };
}

/** Whether `promise` has settled after the event loop had time to run what it waits for. */
async function settledSoon(promise: Promise<unknown>) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(50);
  return settled;
}

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`trailing checkpoint (${adapter.name})`, () => {
    let harness: StoreHarness<SqlEventStore>;
    let sql: SqlExecutor;
    const stored = async () => readCheckpoint(sql, NAME);
    beforeEach(async () => {
      harness = await adapter.open();
      sql = harness.store.client;
      await migrate(harness.store.client, allMigrations);
      await sql.query(`INSERT INTO aos_checkpoints (name, checkpoint) VALUES ($1, '0:0')`, [NAME]);
      expect(await acquireLease(sql, NAME, HOLDER, 60_000)).toBe(true);
    });
    afterEach(() => harness.cleanup());

    it('moves one batch behind, in order: the next move starts once the previous one committed, from its checkpoint', async () => {
      const { sql: held, moves } = heldMoves(sql);
      const checkpoint = trailingCheckpoint(held, NAME, HOLDER, '0:0');

      // Returns while its move is still under way: the next send need not wait for it.
      expect(await checkpoint.advance('1:10')).toBe('1:10');
      expect(moves).toMatchObject([{ from: '0:0', to: '1:10' }]);
      expect(await stored()).toBe('0:0');

      // The next batch was acknowledged: its move waits for the previous one to settle.
      const second = checkpoint.advance('1:20');
      expect(await settledSoon(second)).toBe(false);
      expect(moves).toHaveLength(1);
      moves[0]!.release();
      expect(await second).toBe('1:20');
      expect(await stored()).toBe('1:10');
      expect(moves[1]).toMatchObject({ from: '1:10', to: '1:20' });

      // A clean stop waits for the last move.
      const settled = checkpoint.settle();
      expect(await settledSoon(settled)).toBe(false);
      moves[1]!.release();
      await settled;
      expect(await stored()).toBe('1:20');
    });

    it('a lease lost while a move is under way: the move is refused, and no later one starts', async () => {
      const { sql: held, moves } = heldMoves(sql);
      const checkpoint = trailingCheckpoint(held, NAME, HOLDER, '0:0');
      expect(await checkpoint.advance('1:10')).toBe('1:10');

      // A successor took the lease (this one could not renew it in time) and moved on.
      await sql.query(`UPDATE aos_leases SET holder = 'successor' WHERE name = $1`, [NAME]);
      await sql.query(`UPDATE aos_checkpoints SET checkpoint = '1:5' WHERE name = $1`, [NAME]);
      moves[0]!.release();

      // The next acknowledged batch is not moved to: reading goes on from the successor's checkpoint.
      expect(await checkpoint.advance('1:20')).toBe('1:5');
      expect(moves).toHaveLength(1);
      await checkpoint.settle();
      expect(await stored()).toBe('1:5');

      // Even from there, a move of this publisher's stays fenced.
      expect(await checkpoint.advance('1:30')).toBe('1:30');
      moves[1]!.release();
      await checkpoint.settle();
      expect(await stored()).toBe('1:5');
    });

    it('a failed move is thrown by the next advance; the one after moves from the last confirmed checkpoint', async () => {
      const { sql: held, moves } = heldMoves(sql);
      const checkpoint = trailingCheckpoint(held, NAME, HOLDER, '0:0');
      expect(await checkpoint.advance('1:10')).toBe('1:10');
      moves[0]!.fail(new Error('connection lost'));
      await expect(checkpoint.advance('1:20')).rejects.toThrow('connection lost');
      expect(moves).toHaveLength(1);
      expect(await stored()).toBe('0:0');

      // The batch is sent again and acknowledged: one move covers it and the one whose move failed.
      expect(await checkpoint.advance('1:20')).toBe('1:20');
      expect(moves[1]).toMatchObject({ from: '0:0', to: '1:20' });
      moves[1]!.release();
      await checkpoint.settle();
      expect(await stored()).toBe('1:20');
    });
  });
}
