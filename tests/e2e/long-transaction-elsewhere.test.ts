// Issue 17.1: a write transaction held open in another database of the same PostgreSQL
// cluster holds back neither execution (commands put a run on the queue themselves and wake
// the executor) nor the gap-free reader (its horizon leaves other databases' xids out).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStreamId } from '../../domain/run/decider.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { until } from '../support/events.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';

const plan = (i: number) => ({
  agentId: 'held',
  plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: `held ${i}` } }] },
  budget: { maxCostMicros: 1_000_000 },
});

describe.runIf(await postgresReachable())('a long transaction in another database', () => {
  const scratch = `aos_scratch_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  let holder: pg.Client;
  let app: TestApp;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${scratch}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${scratch}`;
    holder = new pg.Client({ connectionString: url.toString() });
    holder.on('error', () => {}); // its backend is terminated at the end
    await holder.connect();
    await holder.query('CREATE TABLE held (x int)');
    app = await startTestApp('postgres');
  });

  afterAll(async () => {
    await app?.stop();
    await holder?.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await admin.end();
  });

  it('does not delay runs submitted while it is open', async () => {
    const key = await app.keyFor('acme', 'operator');
    const before = await app.store.readAll({ limit: 10_000 });
    // BEGIN; INSERT …; SELECT pg_sleep(…): an xid held open for the whole test.
    await holder.query('BEGIN');
    await holder.query('INSERT INTO held VALUES (1)');
    const sleeping = holder.query('SELECT pg_sleep(60)').catch(() => {});
    const runIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await app.request('POST', '/v1/runs', { key, body: plan(i) });
      expect(response.status).toBe(202);
      runIds.push(response.body.runId);
    }
    const completed = async () => {
      const ends = await Promise.all(
        runIds.map(async (runId) =>
          (await app.store.readStream(runStreamId(runId))).find((e) => e.type === 'RunCompleted'),
        ),
      );
      return ends.every((e) => (e?.data as { status?: string } | undefined)?.status === 'succeeded');
    };
    await until('every run held back by nothing finishes', completed, 20_000);
    // Nor is the gap-free reader: a transaction in another database cannot write aos_events,
    // so the read horizon leaves it out. (AOS's own transactions still in flight — a projection,
    // the executor — may hold it back for a moment, rightly: hence a few seconds, not 60.)
    const ended = async () => {
      const after = await app.store.readAll({ after: before.checkpoint, limit: 10_000 });
      return after.events.filter((e) => e.type === 'RunCompleted').map((e) => e.streamId);
    };
    await until('the gap-free reader shows every run ended', async () => (await ended()).length === 5, 5_000);
    expect((await ended()).sort()).toEqual(runIds.map(runStreamId).sort());
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [scratch],
    );
    await sleeping;
  }, 60_000);
});
