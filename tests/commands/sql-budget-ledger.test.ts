// The budget ledger on SQL: many concurrent reservations of one tenant-day, each on its own
// run's ledger, stay within the limit exactly, never fail a version check, and leave the day's
// counters equal to the fold of the events; a refusal writes nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetLedger } from '../../commands/budget-ledger.ts';
import type { CommandMetrics } from '../../commands/metrics.ts';
import {
  type DayTotals,
  evolveDayTotals,
  initialDayTotals,
  ledgerDayId,
  type Reserve,
} from '../../domain/budget/ledger.ts';
import { isDomainError } from '../../domain/domain-error.ts';
import type { BudgetEvent } from '../../domain/events/budget-events.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { planCacheModes, plannedOncePerSession } from '../support/plan-cache-modes.ts';
import { databaseUrl } from '../support/postgres.ts';
import { pgliteAdapter, postgresAdapter, type StoreHarness } from '../support/stores.ts';

const DAY = '2026-03-04T10:00:00.000Z';
const outcomes: string[] = [];
const metrics = { commandHandled: (_type: string, outcome: string) => outcomes.push(outcome) };
const context = (commandId: string) => ({
  commandId,
  metadata: { tenantId: 'acme', actor: 'test' },
  metrics: metrics as unknown as CommandMetrics,
});
const reserve = (id: string, amountMicros: number, limitMicros: number, extra: Partial<Reserve> = {}) =>
  ({
    type: 'Reserve',
    reservationId: id,
    runId: `run-${id}`,
    amountMicros,
    limitMicros,
    ...extra,
  }) as Reserve;
const apply = (ledger: BudgetLedger, command: Parameters<BudgetLedger['apply']>[0], runId: string) =>
  ledger.apply(
    command,
    { tenantId: 'acme', runId, at: DAY },
    context(`${command.type}:${command.reservationId}`),
  );

/**
 * Every ledger event committed, in the order recorded. Read straight from the table, not through
 * the gap-free reader: a transaction held open elsewhere in the database (another suite's, as in
 * CI) holds that reader back, and this suite's assertions would see too few events.
 */
/** An event of another stream (a run's) for the transactions that write one beside a ledger. */
const attemptStarted = (eventId: string) => ({
  eventId,
  type: 'AttemptStarted',
  schemaVersion: 1,
  data: {},
  metadata: { tenantId: 'acme' },
});

async function dayEvents(store: SqlEventStore): Promise<{ streamId: string; event: BudgetEvent }[]> {
  const rows = await store.client.query<{ stream_id: string; type: BudgetEvent['type']; data: unknown }>(
    `SELECT stream_id, type, data FROM aos_events
      WHERE type IN ('BudgetReserved', 'BudgetSettled', 'BudgetReleased') ORDER BY global_position`,
  );
  return rows.map((row) => ({
    streamId: row.stream_id,
    event: {
      type: row.type,
      data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    } as BudgetEvent,
  }));
}

async function counters(store: SqlEventStore, dayId: string): Promise<DayTotals> {
  const rows = await store.client.query<{ scope: string; reserved: string; settled: string }>(
    `SELECT scope, reserved_micros::text AS reserved, settled_micros::text AS settled
       FROM aos_budget_days WHERE day_id = $1 ORDER BY scope`,
    [dayId],
  );
  const totals: DayTotals = { ...initialDayTotals, committedByModel: {} };
  for (const row of rows) {
    if (row.scope === '')
      Object.assign(totals, { reservedMicros: +row.reserved, settledMicros: +row.settled });
    else totals.committedByModel[row.scope] = +row.reserved + +row.settled;
  }
  return totals;
}

for (const adapter of [pgliteAdapter, postgresAdapter]) {
  describe.runIf(await adapter.available())(`the SQL budget ledger on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    /** On PostgreSQL, a transaction with an xid held open in the database throughout, as other suites do in CI. */
    let heldOpen: pg.Client | undefined;
    beforeAll(async () => {
      harness = await adapter.open();
      await migrate(harness.store.client, allMigrations);
      if (adapter === postgresAdapter) {
        heldOpen = new pg.Client({ connectionString: databaseUrl });
        await heldOpen.connect();
        await heldOpen.query('BEGIN');
        await heldOpen.query('SELECT pg_current_xact_id()');
      }
    });
    afterAll(async () => {
      await heldOpen?.query('COMMIT');
      await heldOpen?.end();
      await harness.cleanup();
    });

    it("plans a transition's functions once per session, not again at every call", async () => {
      // As aos_append (migration 160): replanning at every call costs more than running (171).
      const names = ['aos_transitions', 'aos_move_budget_day', 'aos_fence'];
      expect(await planCacheModes(harness.store.client, names)).toEqual(plannedOncePerSession(names));
    });

    it('lets 64 concurrent runs of one tenant reserve exactly up to the limit, without a conflict', async () => {
      // Four executors (stores with their own caches) share the day.
      const ledgers = [harness.store, ...Array.from({ length: 3 }, () => harness.another!())].map((s) =>
        createSqlBudgetLedger(s),
      );
      outcomes.length = 0;
      const results = await Promise.allSettled(
        Array.from({ length: 64 }, (_, i) =>
          apply(ledgers[i % 4]!, reserve(`r${i}`, 30, 1_000, { model: 'stub' }), `run-r${i}`),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.length - refused.length).toBe(33);
      for (const r of refused) {
        const reason = (r as PromiseRejectedResult).reason;
        expect(isDomainError(reason) && reason.code).toBe('BUDGET_EXCEEDED');
      }
      expect(outcomes.filter((o) => o === 'conflict')).toEqual([]);
      const recorded = await dayEvents(harness.store);
      expect(recorded).toHaveLength(33);
      // Each reservation in its run's own ledger, all of one day.
      expect(new Set(recorded.map((r) => r.streamId)).size).toBe(33);
      expect(new Set(recorded.map((r) => ledgerDayId(r.streamId)))).toEqual(
        new Set(['budget-acme-2026-03-04']),
      );
      const folded = recorded.map((r) => r.event).reduce(evolveDayTotals, initialDayTotals);
      expect(folded.reservedMicros).toBe(990);
      expect(await counters(harness.store, 'budget-acme-2026-03-04')).toEqual(folded);
    });

    it('settles and releases on the run ledger, idempotently, and moves the counters with them', async () => {
      // Which 33 of the 64 got their reservation depends on the race above: take three of them.
      const [a, b, c] = (await dayEvents(harness.store)).map(
        (r) => (r.event.data as { reservationId: string }).reservationId,
      ) as [string, string, string];
      const ledger = createSqlBudgetLedger(harness.store);
      await apply(ledger, { type: 'Settle', reservationId: a, actualMicros: 12 }, `run-${a}`);
      await apply(ledger, { type: 'Release', reservationId: b }, `run-${b}`);
      // Retried (another executor, no cache): recorded once.
      const fresh = createSqlBudgetLedger(harness.another!());
      await apply(fresh, { type: 'Settle', reservationId: a, actualMicros: 12 }, `run-${a}`);
      await apply(fresh, { type: 'Release', reservationId: b }, `run-${b}`);
      await apply(fresh, reserve(c, 30, 1_000, { model: 'stub' }), `run-${c}`);
      const recorded = await dayEvents(harness.store);
      expect(recorded).toHaveLength(35);
      const folded = recorded.map((r) => r.event).reduce(evolveDayTotals, initialDayTotals);
      expect(folded).toMatchObject({ reservedMicros: 930, settledMicros: 12 });
      expect(await counters(harness.store, 'budget-acme-2026-03-04')).toEqual(folded);
      // The 48 freed micros hold one more reservation; a second one does not fit.
      await apply(ledger, reserve('x1', 30, 1_000), 'run-x1');
      const refusal = await apply(ledger, reserve('x2', 30, 1_000), 'run-x2').catch((e) => e);
      expect(refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', details: { remainingMicros: 28 } });
      expect(await dayEvents(harness.store)).toHaveLength(36);
    });

    it('moves the day once for a command decided again on a state that did not show it yet', async () => {
      const at = '2026-03-06T00:00:00.000Z';
      const target = { tenantId: 'acme', runId: 'run-s', at };
      const first = createSqlBudgetLedger(harness.store);
      await first.apply(reserve('s1', 30, 1_000), target, context('Reserve:s1'));
      // Another executor settles it; the first one, its cache still at the reservation, again.
      await createSqlBudgetLedger(harness.another!()).apply(
        { type: 'Settle', reservationId: 's1', actualMicros: 20 },
        target,
        context('Settle:s1'),
      );
      await first.apply(
        { type: 'Settle', reservationId: 's1', actualMicros: 20 },
        target,
        context('Settle:s1'),
      );
      expect(await counters(harness.store, 'budget-acme-2026-03-06')).toEqual({
        reservedMicros: 0,
        settledMicros: 20,
        committedByModel: {},
      });
    });

    it('answers a retried close with what the command recorded, from its own cache or a fresh client', async () => {
      const target = { tenantId: 'acme', runId: 'run-c', at: '2026-03-08T00:00:00.000Z' };
      const ledger = createSqlBudgetLedger(harness.store);
      await ledger.apply(reserve('c1', 30, 1_000), target, context('Reserve:c1'));
      await ledger.apply(
        { type: 'Settle', reservationId: 'c1', actualMicros: 12 },
        target,
        context('close:c1'),
      );
      // The same command id with other terms (a retry that recomputed them): the original stands.
      const retry = { type: 'Settle', reservationId: 'c1', actualMicros: 13 } as const;
      await ledger.apply(retry, target, context('close:c1'));
      await createSqlBudgetLedger(harness.another!()).apply(retry, target, context('close:c1'));
      // A different command that closes it again is refused.
      const again = await ledger
        .apply({ type: 'Release', reservationId: 'c1' }, target, context('Release:c1'))
        .catch((e) => e);
      expect(again).toMatchObject({ code: 'CONFLICT' });
      expect(await counters(harness.store, 'budget-acme-2026-03-08')).toEqual({
        reservedMicros: 0,
        settledMicros: 12,
        committedByModel: {},
      });
    });

    it('closes reservations of a day recorded as one stream (before run ledgers), once', async () => {
      // The former ledger wrote every run's events of the day to budget-<tenant>-<day>, and the
      // migration that added the counters folded them into aos_budget_days.
      const day = 'budget-acme-2026-03-07';
      const legacy = (type: string, commandId: string, data: object, i: number) => ({
        eventId: `00000000-0000-4000-8000-00000000000${i}`,
        type,
        schemaVersion: 1,
        data,
        metadata: { tenantId: 'acme', commandId },
      });
      await harness.store.append(
        day,
        [
          legacy(
            'BudgetReserved',
            'Reserve:l1',
            { reservationId: 'l1', runId: 'run-l1', amountMicros: 30, limitMicros: 1_000 },
            1,
          ),
          legacy(
            'BudgetReleased',
            'Release:l1',
            { reservationId: 'l1', runId: 'run-l1', amountMicros: 30 },
            2,
          ),
          legacy(
            'BudgetReserved',
            'Reserve:l2',
            { reservationId: 'l2', runId: 'run-l2', amountMicros: 40, limitMicros: 1_000 },
            3,
          ),
        ],
        { expectedVersion: 'no_stream' },
      );
      await harness.store.client.query(
        `INSERT INTO aos_budget_days (day_id, scope, reserved_micros, settled_micros) VALUES ($1, '', 40, 0)`,
        [day],
      );
      const at = '2026-03-07T12:00:00.000Z';
      const fresh = createSqlBudgetLedger(harness.another!());
      // The next owner of run-l1 closes its last attempt's reservation again: recorded already.
      await fresh.apply(
        { type: 'Release', reservationId: 'l1' },
        { tenantId: 'acme', runId: 'run-l1', at },
        context('Release:l1'),
      );
      // A reservation still open at the upgrade is closed in its run's ledger, once.
      const settle = { type: 'Settle', reservationId: 'l2', actualMicros: 25 } as const;
      const l2 = { tenantId: 'acme', runId: 'run-l2', at };
      await fresh.apply(settle, l2, context('Settle:l2'));
      await fresh.apply(settle, l2, context('Settle:l2'));
      await createSqlBudgetLedger(harness.another!()).apply(settle, l2, context('Settle:l2'));
      const events = (await dayEvents(harness.store)).filter((r) => ledgerDayId(r.streamId) === day);
      expect(events.map((r) => `${r.streamId} ${r.event.type}`)).toEqual([
        `${day} BudgetReserved`,
        `${day} BudgetReleased`,
        `${day} BudgetReserved`,
        `${day}:run-l2 BudgetSettled`,
      ]);
      const folded = events.map((r) => r.event).reduce(evolveDayTotals, initialDayTotals);
      expect(folded).toMatchObject({ reservedMicros: 0, settledMicros: 25 });
      expect(await counters(harness.store, day)).toEqual(folded);
      // A reservation neither ledger knows is still not found.
      const unknown = await fresh
        .apply(
          { type: 'Release', reservationId: 'l9' },
          { tenantId: 'acme', runId: 'run-l9', at },
          context('Release:l9'),
        )
        .catch((e) => e);
      expect(unknown).toMatchObject({ code: 'NOT_FOUND' });
    });

    it("commits a reservation and another stream's events in one transaction, or neither", async () => {
      const at = '2026-03-09T00:00:00.000Z';
      const target = { tenantId: 'acme', runId: 'run-t', at };
      const ledger = createSqlBudgetLedger(harness.store);
      const step = (amountMicros: number, eventId: string) =>
        ledger.together(async (tx) => {
          await tx.ledger.apply(reserve('t1', amountMicros, 100), target, context('Reserve:t1'));
          return tx.store.append('run-t', [attemptStarted(eventId)], { expectedVersion: 'no_stream' });
        });
      // Refused by the day's counter at the end: the other stream's append is rolled back too,
      // and the reservation counts as refused, not as recorded.
      outcomes.length = 0;
      const refusal = await step(150, '00000000-0000-4000-8000-0000000000a1').catch((e) => e);
      expect(refusal).toMatchObject({ code: 'BUDGET_EXCEEDED' });
      expect(outcomes).toEqual(['BUDGET_EXCEEDED']);
      expect(await harness.store.readStream('run-t')).toEqual([]);
      expect(await harness.store.readStream('budget-acme-2026-03-09:run-t')).toEqual([]);
      // The same reservation, now within the limit: the rolled-back one was not remembered.
      await step(60, '00000000-0000-4000-8000-0000000000a2');
      expect(outcomes).toEqual(['BUDGET_EXCEEDED', 'recorded']);
      expect(await harness.store.readStream('run-t')).toHaveLength(1);
      expect((await harness.store.readStream('budget-acme-2026-03-09:run-t')).map((e) => e.type)).toEqual([
        'BudgetReserved',
      ]);
      expect(await counters(harness.store, 'budget-acme-2026-03-09')).toMatchObject({ reservedMicros: 60 });
    });

    it('reads through its transaction: a ledger it does not remember, and the other stream', async () => {
      const target = { tenantId: 'acme', runId: 'run-u', at: '2026-03-10T00:00:00.000Z' };
      await createSqlBudgetLedger(harness.store).apply(
        reserve('u1', 30, 1_000),
        target,
        context('Reserve:u1'),
      );
      // Another executor (nothing remembered) settles it in a transaction: it must read the
      // run's ledger — on PGlite, a read beside the transaction would wait for it forever.
      const fresh = createSqlBudgetLedger(harness.another!());
      const seen = await fresh.together(async (tx) => {
        await tx.ledger.apply(
          { type: 'Settle', reservationId: 'u1', actualMicros: 10 },
          target,
          context('Settle:u1'),
        );
        return tx.store.readStream('budget-acme-2026-03-10:run-u');
      });
      expect(seen.map((e) => e.type)).toEqual(['BudgetReserved', 'BudgetSettled']);
      expect(await counters(harness.store, 'budget-acme-2026-03-10')).toMatchObject({
        reservedMicros: 0,
        settledMicros: 10,
      });
    });

    it('tells the work its appends were recorded before, though it holds them to the end', async () => {
      const target = { tenantId: 'acme', runId: 'run-w', at: '2026-03-12T00:00:00.000Z' };
      const ledger = createSqlBudgetLedger(harness.store);
      const started = attemptStarted('00000000-0000-4000-8000-0000000000b1');
      const step = () =>
        ledger.together(async (tx) => {
          await tx.ledger.apply(reserve('w1', 10, 100), target, context('Reserve:w1'));
          return tx.store.append('run-w', [started], { expectedVersion: 'no_stream' });
        });
      expect(await step()).toMatchObject({ duplicate: false });
      // The same transition again (a worker that decided it on a stale state): it learns it was
      // recorded, and the day moved once.
      expect(await step()).toMatchObject({ duplicate: true });
      expect(await harness.store.readStream('run-w')).toHaveLength(1);
      expect(await counters(harness.store, 'budget-acme-2026-03-12')).toMatchObject({ reservedMicros: 10 });
    });

    it("sends a step's transition as one statement: the fence, both streams' appends and the day's move", async () => {
      const target = { tenantId: 'acme', runId: 'run-o', at: '2026-03-13T00:00:00.000Z' };
      const sent: string[] = [];
      const store: SqlEventStore = Object.create(harness.store);
      const client = Object.create(harness.store.client) as SqlEventStore['client'];
      client.query = (sql, params) => {
        sent.push(sql);
        return harness.store.client.query(sql, params);
      };
      client.transaction = (fn) => {
        sent.push('BEGIN');
        return harness.store.client.transaction(fn);
      };
      Object.defineProperty(store, 'client', { value: client });
      const ledger = createSqlBudgetLedger(store);
      await ledger.together(async (tx) => {
        expect(await tx.fence('fence-o', 'shared', -1)).toBe(-1);
        await tx.ledger.apply(reserve('o1', 10, 100), target, context('Reserve:o1'));
        await tx.store.append('run-o', [attemptStarted('00000000-0000-4000-8000-0000000000c1')], {
          expectedVersion: 'no_stream',
        });
      });
      expect(sent).toEqual([expect.stringContaining('aos_transition')]);
      expect(await harness.store.readStream('run-o')).toHaveLength(1);
      expect(await counters(harness.store, 'budget-acme-2026-03-13')).toMatchObject({ reservedMicros: 10 });
      // The fence's stream moved after the work decided on it: nothing of the statement commits,
      // and the work is done again in a transaction whose fence asks.
      await harness.store.append('fence-o', [attemptStarted('00000000-0000-4000-8000-0000000000c2')], {
        expectedVersion: 'no_stream',
      });
      sent.length = 0;
      const seen: number[] = [];
      await ledger.together(async (tx) => {
        seen.push(await tx.fence('fence-o', 'shared', -1));
        await tx.store.append('run-o', [attemptStarted('00000000-0000-4000-8000-0000000000c3')], {
          expectedVersion: 0,
        });
      });
      expect(seen).toEqual([-1, 0]);
      expect(sent[0]).toContain('aos_transition');
      expect(sent[1]).toBe('BEGIN');
      expect(await harness.store.readStream('run-o')).toHaveLength(2);
    });

    it('commits a statement alongside with the transition, or not at all, in one statement or command by command', async () => {
      const target = { tenantId: 'acme', runId: 'run-a', at: '2026-03-14T00:00:00.000Z' };
      await harness.store.client.exec('CREATE TABLE alongside_marks (mark text NOT NULL)');
      const marks = async () =>
        (
          await harness.store.client.query<{ mark: string }>('SELECT mark FROM alongside_marks ORDER BY mark')
        ).map((row) => row.mark);
      const ledger = createSqlBudgetLedger(harness.store);
      const step = (
        id: string,
        amountMicros: number,
        eventId: string,
        expectedVersion: number | 'no_stream',
        fence?: number,
      ) =>
        ledger.together(async (tx) => {
          if (fence !== undefined) await tx.fence('fence-a', 'shared', fence);
          await tx.ledger.apply(reserve(id, amountMicros, 100), target, context(`Reserve:${id}`));
          // Numbered after the transition's own parameters.
          tx.alongside((first) => ({ sql: `INSERT INTO alongside_marks VALUES ($${first})`, params: [id] }));
          return tx.store.append('run-a', [attemptStarted(eventId)], { expectedVersion });
        });
      await step('a1', 10, '00000000-0000-4000-8000-0000000000d1', 'no_stream');
      expect(await marks()).toEqual(['a1']);
      // Refused by the day at the end of the statement: the statement alongside is not committed.
      await expect(step('a2', 200, '00000000-0000-4000-8000-0000000000d2', 0)).rejects.toMatchObject({
        code: 'BUDGET_EXCEEDED',
      });
      expect(await marks()).toEqual(['a1']);
      // The fence moved: the one statement raises, and the work is done again command by
      // command, the statement alongside once, in that transaction.
      await harness.store.append('fence-a', [attemptStarted('00000000-0000-4000-8000-0000000000d3')], {
        expectedVersion: 'no_stream',
      });
      await step('a3', 10, '00000000-0000-4000-8000-0000000000d4', 0, -1);
      expect(await marks()).toEqual(['a1', 'a3']);
      expect(await harness.store.readStream('run-a')).toHaveLength(2);
    });

    it("sends concurrent runs' transitions together, each with its own answer: a refusal stays its run's", async () => {
      const at = '2026-03-15T00:00:00.000Z';
      await harness.store.client.exec('CREATE TABLE grouped_marks (mark text NOT NULL)');
      const groups: number[] = [];
      const store: SqlEventStore = Object.create(harness.store);
      const client = Object.create(harness.store.client) as SqlEventStore['client'];
      client.query = (sql, params) => {
        if (sql.includes('aos_transitions')) groups.push(JSON.parse(params![0] as string).length);
        return harness.store.client.query(sql, params);
      };
      Object.defineProperty(store, 'client', { value: client });
      const ledger = createSqlBudgetLedger(store, { inFlight: 1, maxItems: 32, patienceMs: 60_000 });
      // Twelve runs of one tenant reserve 10 each in a day of 100: two do not fit.
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          ledger.together(async (tx) => {
            const runId = `run-g${i}`;
            await tx.ledger.apply(
              reserve(`g${i}`, 10, 100),
              { tenantId: 'acme', runId, at },
              context(`Reserve:g${i}`),
            );
            tx.alongside((first) => ({
              sql: `INSERT INTO grouped_marks VALUES ($${first})`,
              params: [runId],
            }));
            const eventId = `00000000-0000-4000-8000-${(0xe00 + i).toString(16).padStart(12, '0')}`;
            return tx.store.append(runId, [attemptStarted(eventId)], { expectedVersion: 'no_stream' });
          }),
        ),
      );
      // The first went alone; the rest waited for it and went together.
      expect(groups[0]).toBe(1);
      expect(Math.max(...groups)).toBeGreaterThan(1);
      const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [[i, r.reason.code]] : []));
      expect(refused).toHaveLength(2);
      expect(refused.map(([, code]) => code)).toEqual(['BUDGET_EXCEEDED', 'BUDGET_EXCEEDED']);
      const granted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`run-g${i}`] : []));
      const marks = await harness.store.client.query<{ mark: string }>('SELECT mark FROM grouped_marks');
      expect(marks.map((m) => m.mark).sort()).toEqual([...granted].sort());
      for (let i = 0; i < 12; i++)
        expect(await harness.store.readStream(`run-g${i}`)).toHaveLength(
          granted.includes(`run-g${i}`) ? 1 : 0,
        );
      const recorded = (await dayEvents(harness.store)).filter((r) =>
        ledgerDayId(r.streamId).endsWith('03-15'),
      );
      expect(recorded).toHaveLength(10);
      const folded = recorded.map((r) => r.event).reduce(evolveDayTotals, initialDayTotals);
      expect(folded.reservedMicros).toBe(100);
      expect(await counters(harness.store, 'budget-acme-2026-03-15')).toEqual(folded);
    });

    it("moves a group's days in one order, whatever its items' order: by day", async () => {
      // Two days without room, named by the items in reverse: the earlier day is refused first.
      const noRoom = (dayId: string) => ({
        fenceStream: null,
        fenceVersion: null,
        appends: [],
        moves: [{ dayId, scopes: [''], reserved: [1_000], settled: [0], caps: [10] }],
      });
      const items = [noRoom('budget-acme-2026-03-17'), noRoom('budget-acme-2026-03-16')];
      await expect(
        harness.store.client.query('SELECT * FROM aos_transitions($1::jsonb)', [JSON.stringify(items)]),
      ).rejects.toMatchObject({ message: expect.stringContaining('budget-acme-2026-03-16 has no room') });
    });

    it("answers a server of the previous version's single transition (aos_transition) as a group of one", async () => {
      const dayId = 'budget-acme-2026-03-18';
      const transition = (reserved: number) =>
        harness.store.client.query('SELECT * FROM aos_transition(NULL, NULL, $1::jsonb, $2::jsonb)', [
          '[]',
          JSON.stringify([{ dayId, scopes: [''], reserved: [reserved], settled: [0], caps: [100] }]),
        ]);
      await transition(60);
      expect(await counters(harness.store, dayId)).toMatchObject({ reservedMicros: 60 });
      await expect(transition(60)).rejects.toMatchObject({ code: 'AOS03' });
      expect(await counters(harness.store, dayId)).toMatchObject({ reservedMicros: 60 });
    });

    it('closes a reservation and makes the next in one move of the day, checked after both', async () => {
      const target = { tenantId: 'acme', runId: 'run-v', at: '2026-03-11T00:00:00.000Z' };
      const ledger = createSqlBudgetLedger(harness.store);
      await ledger.apply(reserve('v1', 80, 100), target, context('Reserve:v1'));
      const transition = (next: string, amountMicros: number, close: string, actualMicros: number) =>
        ledger.together(async (tx) => {
          await tx.ledger.apply(
            { type: 'Settle', reservationId: close, actualMicros },
            target,
            context(`Settle:${close}`),
          );
          await tx.ledger.apply(reserve(next, amountMicros, 100), target, context(`Reserve:${next}`));
        });
      // 30 settled of v1's 80, then 71 more: 101 > 100 — refused, and nothing moved or written.
      const refusal = await transition('v2', 71, 'v1', 30).catch((e) => e);
      expect(refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', details: { remainingMicros: 70 } });
      expect(await counters(harness.store, 'budget-acme-2026-03-11')).toMatchObject({ reservedMicros: 80 });
      expect(await harness.store.readStream('budget-acme-2026-03-11:run-v')).toHaveLength(1);
      // 70 fits exactly once v1's close is counted: both commit.
      await transition('v3', 70, 'v1', 30);
      expect(await counters(harness.store, 'budget-acme-2026-03-11')).toMatchObject({
        reservedMicros: 70,
        settledMicros: 30,
      });
      const written = await harness.store.readStream('budget-acme-2026-03-11:run-v');
      expect(written.map((e) => e.type)).toEqual(['BudgetReserved', 'BudgetSettled', 'BudgetReserved']);
    });

    it('holds a model to its cap within the day', async () => {
      const ledger = createSqlBudgetLedger(harness.store);
      const caps = { model: 'gpt-4o', modelCaps: { 'gpt-4o': 50 } };
      const at = '2026-03-05T00:00:00.000Z';
      const target = (runId: string) => ({ tenantId: 'acme', runId, at });
      await ledger.apply(reserve('m1', 40, 1_000, caps), target('m1'), context('Reserve:m1'));
      const refusal = await ledger
        .apply(reserve('m2', 20, 1_000, caps), target('m2'), context('Reserve:m2'))
        .catch((e) => e);
      expect(refusal).toMatchObject({ code: 'BUDGET_EXCEEDED', details: { scope: 'model_cap' } });
      await ledger.apply(reserve('m3', 20, 1_000), target('m3'), context('Reserve:m3'));
      expect(await counters(harness.store, 'budget-acme-2026-03-05')).toEqual({
        reservedMicros: 60,
        settledMicros: 0,
        committedByModel: { 'gpt-4o': 40 },
      });
    });
  });
}
