// Scenario 4: concurrency at scale on PostgreSQL — many writers on one stream, projections
// under concurrent writers with random commit delays, and many runs of one tenant against a
// small day budget through the running server.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConcurrencyError } from '../../domain/store/store-errors.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { verifyStream } from '../../infra/store/verify-stream.ts';
import { startProjectionGroup } from '../../readmodels/projection-group.ts';
import { events } from '../support/events.ts';
import { postgresAdapter, type StoreHarness } from '../support/stores.ts';
import {
  auditTestProjection,
  concurrentDelayedWriters,
  openWithTestProjectionTables,
  testProjection,
} from '../support/test-projection.ts';
import { waitForTerminal } from './support/audit.ts';
import { submitUnderLoad } from './support/load.ts';
import { recordScenario } from './support/report.ts';
import { openScenario } from './support/scenario.ts';

let harness: StoreHarness<SqlEventStore>;
beforeAll(async () => {
  harness = await openWithTestProjectionTables(postgresAdapter);
});
afterAll(() => harness.cleanup());

it('lets exactly one writer win each version of one stream', async () => {
  const { store } = harness;
  const stores = Array.from({ length: 8 }, () => harness.another!());
  let wins = 0;
  let conflicts = 0;
  let other = 0;
  const writer = async (s: SqlEventStore) => {
    for (let i = 0; i < 60; i++) {
      const head = (await s.streamInfo('contended-1'))?.version ?? -1;
      try {
        await s.append('contended-1', events(1), { expectedVersion: head });
        wins++;
      } catch (error) {
        if (error instanceof ConcurrencyError) conflicts++;
        else other++;
      }
    }
  };
  await Promise.all(stores.flatMap((s) => [writer(s), writer(s)]));
  const stream = await store.readStream('contended-1');
  const gaps = stream.filter((e, i) => e.streamPosition !== i).length;
  const verdict = await verifyStream(store, 'contended-1');
  recordScenario({
    scenario: 'many writers on one stream',
    operations: wins + conflicts + other,
    faults: '16 writers, same expected version',
    acknowledged: wins,
    lost: wins - stream.length,
    duplicated: stream.length - wins,
    fiveXX: other,
    notes: `${conflicts} ConcurrencyError; ${gaps} position gaps; chain ${verdict.ok ? 'verifies' : 'BROKEN'}`,
  });
  expect(stream).toHaveLength(wins);
  expect(gaps).toBe(0);
  expect(other).toBe(0);
  expect(verdict.ok).toBe(true);
});

it('projects thousands of events exactly once under delayed commits and three competing runners', async () => {
  const { store } = harness;
  const runners = await Promise.all(
    [store, harness.another!(), harness.another!()].map((s) =>
      startProjectionGroup(s, [testProjection], { pollIntervalMs: 5, batchSize: 100 }),
    ),
  );
  const written = await concurrentDelayedWriters(store, {
    writers: 12,
    appendsPerWriter: 150,
    maxDelayMs: 5,
  });
  const result = await auditTestProjection(store.client, written, 120_000);
  await Promise.all(runners.map((r) => r.stop()));
  recordScenario({
    scenario: 'projections under concurrent delayed commits',
    operations: written.length,
    faults: '12 writers, 0-5 ms commit delays, 3 runners',
    acknowledged: written.length,
    lost: result.missing,
    duplicated: result.repeated + result.wrongTotals + result.wrongSequences,
    fiveXX: 0,
  });
  expect(written.length).toBeGreaterThan(3000);
  expect(result).toEqual({ missing: 0, repeated: 0, wrongTotals: 0, wrongSequences: 0 });
});

it('never lets many runs of one tenant settle above a small day budget', async () => {
  const limit = 40;
  const scenario = await openScenario({ AOS_TENANT_DAY_LIMIT_MICROS: String(limit) });
  try {
    const key = await scenario.tenantKey('thrifty', 'operator');
    const load = await submitUnderLoad({
      url: () => scenario.server.url,
      key,
      count: 60,
      concurrency: 12,
      body: (i) => ({
        agentId: 'budget',
        plan: {
          steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: `budget ${i}`, maxTokens: 16 } }],
        },
        budget: { maxCostMicros: 1_000_000 },
      }),
      deadlineMs: 60_000,
    });
    const unfinished = await waitForTerminal(scenario.store, [...load.acknowledged.values()], 60_000);
    const [settled] = await scenario.store.client.query<{ total: string | number | null }>(
      `SELECT sum((data->>'actualMicros')::bigint) AS total FROM aos_events WHERE type = 'BudgetSettled'`,
    );
    const [refused] = await scenario.store.client.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM aos_events WHERE type = 'BudgetExceeded' AND data->>'scope' = 'tenant_day'`,
    );
    const [ended] = await scenario.store.client.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM aos_events WHERE type = 'RunCompleted' AND data->>'status' = 'budget_exceeded'`,
    );
    const spent = Number(settled!.total ?? 0);
    recordScenario({
      scenario: 'one tenant, small day budget',
      operations: load.attempts,
      faults: `60 runs, 12 at once, limit ${limit} µ$`,
      acknowledged: load.acknowledged.size,
      lost: 0,
      duplicated: 0,
      fiveXX: load.fiveXX,
      notes: `settled ${spent} µ$ of ${limit}; ${Number(refused!.n)} refusals recorded; ${unfinished.length} unfinished`,
    });
    expect(unfinished).toEqual([]);
    expect(spent).toBeLessThanOrEqual(limit);
    expect(Number(refused!.n)).toBeGreaterThan(0);
    expect(Number(refused!.n)).toBe(Number(ended!.n));
  } finally {
    await scenario.dispose();
  }
});
