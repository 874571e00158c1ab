// POST /v1/runs through the whole server as `npm start` wires it (auth, rate limiter,
// metrics, zod validation, the SubmitRun handler: policy and price table read, both
// estimates, RunSubmitted + RunEstimated appended) against a bare fastify route that does
// one raw INSERT of the request body, both loaded by autocannon with 10 connections in a
// process of its own, on PostgreSQL and PGlite. Targets (issue 14): >= 0.5 x the raw route's
// requests/s and p99 <= 10 ms on PostgreSQL; on PGlite >= 1,000 requests/s with the executor
// off and >= 300 with it on.
//
// The executor is off (AOS_EXECUTOR=off) for the main figures: this measures submission,
// which is what a client waits for; executing the runs is the executor suite. The run-queue
// feeder and the projections run in the server process as they do in `npm start` and take
// their share of the CPU while submissions arrive. On PGlite, where node and the database share
// one thread, the submission rate is measured once more with the executor on (a fresh database,
// as `npm start` runs it): the executor runs what is submitted meanwhile, in the same process.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { openApp } from '../api/app.ts';
import type { SqlClient } from '../domain/store/sql-port.ts';
import { loadConfig } from '../infra/config.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { onEveryStore, openBenchDatabase, type StoreKind } from './support/databases.ts';
import { paired } from './support/measure.ts';
import { benchDatabaseUrl } from './support/postgres.ts';
import { ceilingFigure, type Figure, figure, floorFigure, median } from './support/report.ts';
import { threeStepPlan } from './support/runs.ts';

const SIZES = {
  quick: { repetitions: 3, seconds: 4 },
  full: { repetitions: 5, seconds: 10 },
};
const CONNECTIONS = 10;
const P99_CEILING_MS = 10;
/** Issue 14: POST /v1/runs on PGlite, with the executor off and on. */
const PGLITE_FLOOR_PER_S = { off: 1000, on: 300 } as const;
const SYSTEM_KEY = `aos_bench_system_key_${'x'.repeat(40)}`;

const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface CannonResult {
  requests: { total: number };
  duration: number;
  latency: { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** autocannon in its own process, so the load generator does not share the server's event loop. */
async function cannon(url: string, seconds: number, headers: Record<string, string>, body: string) {
  const args = [
    autocannonBin,
    '-c',
    String(CONNECTIONS),
    '-d',
    String(seconds),
    '-m',
    'POST',
    '-j',
    '-b',
    body,
  ];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  args.push(url);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 << 20 });
  const result = JSON.parse(stdout) as CannonResult;
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return result;
}

/** The anchor: parse the JSON body, one INSERT, answer 202 with the new id. */
async function rawServer(client: SqlClient): Promise<FastifyInstance> {
  await client.exec(`CREATE TABLE IF NOT EXISTS bench_api_raw (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id text NOT NULL, body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  const server = Fastify({ logger: { level: 'silent' } });
  server.post('/raw', async (request, reply) => {
    const [row] = await client.query<{ id: string }>(
      'INSERT INTO bench_api_raw (tenant_id, body) VALUES ($1, $2) RETURNING id',
      ['acme', JSON.stringify(request.body)],
    );
    return reply.status(202).send({ id: row!.id });
  });
  return server;
}

async function listen(server: FastifyInstance): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
}

type Executor = 'off' | 'on';

async function measureStore(
  kind: StoreKind,
  executor: Executor,
  size: (typeof SIZES)['full'],
  context: SuiteContext,
) {
  const log = (line: string) => context.log(`  [${kind}, executor ${executor}] ${line}`);
  const db = await openBenchDatabase(kind, 'api');
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-bench-api-'));
  const config = loadConfig({
    AOS_STORE: kind,
    // Only named: the app is handed the bench database's pool below.
    ...(kind === 'postgres' ? { DATABASE_URL: benchDatabaseUrl } : {}),
    AOS_DATA_DIR: dataDir,
    AOS_BOOTSTRAP_KEY: SYSTEM_KEY,
    AOS_LOG_LEVEL: 'silent',
    AOS_EXECUTOR: executor,
    // No run is refused for the tenant's day (the bench submits thousands of runs).
    AOS_TENANT_DAY_LIMIT_MICROS: String(Number.MAX_SAFE_INTEGER),
    // The limiters (per key, per tenant) still count every request; their defaults would only
    // measure 429s.
    AOS_RATE_LIMIT_PER_MINUTE: '1000000',
    AOS_TENANT_RATE_LIMIT_PER_MINUTE: '10000000',
  });
  // The app gets a pool of its own (closed with it), as large as the server's default.
  const app = await openApp(config, { client: await db.openClient() });
  const raw = await rawServer(await db.openClient());
  try {
    const created = await app.server.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: { authorization: `Bearer ${SYSTEM_KEY}` },
      payload: { tenant: 'acme', role: 'operator' },
    });
    const key = (created.json() as { key: string }).key;
    const aosUrl = `${await listen(app.server)}/v1/runs`;
    const rawUrl = `${await listen(raw)}/raw`;
    const body = JSON.stringify(threeStepPlan(1));
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const p99: Record<string, number[]> = { aos: [], raw: [] };
    const load = (label: 'aos' | 'raw', url: string) => async () => {
      const result = await cannon(url, size.seconds, headers, body);
      p99[label]!.push(result.latency.p99);
      return { units: result.requests.total, seconds: result.duration };
    };
    log(`${CONNECTIONS} connections, ${size.seconds} s per load, ${size.repetitions} repetitions`);
    const result = await paired(
      [
        { label: 'aos', run: load('aos', aosUrl) },
        { label: 'raw', run: load('raw', rawUrl) },
      ],
      { repetitions: size.repetitions, warmups: 1, log: context.log },
    );
    // The warm-up's latencies are not part of the figures.
    const measured = (label: 'aos' | 'raw') => p99[label]!.slice(1);
    log(`p99 ms per repetition: aos ${measured('aos').join(', ')}; raw ${measured('raw').join(', ')}`);
    const [{ n }] = (await db.client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM aos_events WHERE type = 'RunSubmitted'`,
    )) as [{ n: string }];
    const [{ done }] = (await db.client.query<{ done: string }>(
      `SELECT count(*)::text AS done FROM aos_events WHERE type = 'RunCompleted'`,
    )) as [{ done: string }];
    log(`${n} runs submitted in all${executor === 'on' ? `, ${done} finished meanwhile` : ''}`);
    const suffix = executor === 'on' ? ', executor on' : '';
    const figures: Figure[] = [
      // Issue 14: half the raw route on PostgreSQL; on PGlite (one thread for node and the
      // database) a rate to reach, with the executor off as here.
      (kind === 'postgres' ? figure : floorFigure)({
        store: kind,
        name: `POST /v1/runs, ${CONNECTIONS} connections${suffix}`,
        unit: 'requests/s',
        value: result.median.aos!,
        anchor: 'fastify route, one raw INSERT',
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: kind === 'postgres' ? 0.5 : PGLITE_FLOOR_PER_S[executor],
      }),
      ceilingFigure({
        store: kind,
        name: `POST /v1/runs p99, ${CONNECTIONS} connections${suffix}`,
        unit: 'ms',
        value: median(measured('aos')),
        anchor: 'fastify route, one raw INSERT (p99)',
        anchor_value: median(measured('raw')),
        ratios: measured('aos').map((v, i) => measured('raw')[i]! / v),
        // Issue 14 bounds the p99 with the executor off; with it on it is shown for scale.
        target: executor === 'off' ? P99_CEILING_MS : Number.POSITIVE_INFINITY,
      }),
    ];
    return figures;
  } finally {
    await raw.close();
    await app.close();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const suite: Suite = {
  description:
    'api: POST /v1/runs on the whole server vs a fastify route doing one raw INSERT, autocannon at 10 connections; on PGlite also with the executor on',
  async run(context) {
    const size = SIZES[context.quick ? 'quick' : 'full'];
    const figures = await onEveryStore((kind) => measureStore(kind, 'off', size, context));
    // The executor in the server's process: on PGlite it shares the one thread with the API.
    figures.push(...(await measureStore('pglite', 'on', size, context)));
    return figures;
  },
};
