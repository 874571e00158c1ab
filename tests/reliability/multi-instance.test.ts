// Scenario: three `aos serve` processes on one PostgreSQL (a private cluster), executors on
// in all, Kafka publishing, clients spread over them; five kill -9 of random instances (each
// restarted) and one PostgreSQL restart while runs are submitted. Afterwards: every
// acknowledged run finished, none recorded or charged twice, the budget ledger settles
// exactly what was charged, the per-key rate limit holds across the instances, and the Kafka
// topic holds every event of the store, in order per stream.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PUBLISHER_CHECKPOINT } from '../../infra/kafka/publisher.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { freePort } from '../support/free-port.ts';
import { kafkaBrokers, kafkaReachable, readTopic } from '../support/kafka.ts';
import { createTestSchema } from '../support/postgres.ts';
import { audit, nothingWrong } from './support/audit.ts';
import { stubModelRun, submitUnderLoad } from './support/load.ts';
import { type PrivateCluster, privateCluster } from './support/private-cluster.ts';
import { recordScenario } from './support/report.ts';
import { SYSTEM_KEY } from './support/scenario.ts';
import { type ServerProcess, serverProcess } from './support/server-process.ts';

const KEY_LIMIT = 300;
let cluster: PrivateCluster;
let servers: ServerProcess[] = [];
let store: SqlEventStore;
let dataDirs: string[] = [];
const topic = `aos.multi.${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  // Fails (never skips) without a broker when AOS_TEST_REQUIRE names kafka.
  if (!(await kafkaReachable())) throw new Error(`this scenario needs Kafka at ${kafkaBrokers}`);
  cluster = await privateCluster();
  cluster.start();
  const { schema } = await createTestSchema(cluster.url);
  const url = new URL(cluster.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const ports = [await freePort(), await freePort(), await freePort()];
  servers = [0, 1, 2].map((i) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aos-multi-'));
    dataDirs.push(dataDir);
    return serverProcess(
      {
        AOS_STORE: 'postgres',
        DATABASE_URL: url.toString(),
        AOS_DATA_DIR: dataDir,
        AOS_BOOTSTRAP_KEY: SYSTEM_KEY,
        AOS_EXECUTOR_LEASE_MS: '1500',
        AOS_INSTANCE_ID: `instance-${i}`,
        KAFKA_BROKERS: kafkaBrokers,
        AOS_KAFKA_TOPIC: topic,
        AOS_KAFKA_PARTITIONS: '4',
        AOS_KAFKA_LEASE_MS: '2000',
        AOS_RATE_LIMIT_PER_MINUTE: String(KEY_LIMIT),
        AOS_TENANT_RATE_LIMIT_PER_MINUTE: '100000',
      },
      ports[i] as number,
    );
  });
  // One first (it migrates), then the other two side by side.
  await servers[0]!.start();
  await Promise.all(servers.slice(1).map((s) => s.start()));
  store = createSqlEventStore(
    createPostgresClient({ connectionString: cluster.url, schema, maxConnections: 4 }),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await store?.close().catch(() => {});
  cluster?.destroy();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  dataDirs = [];
});

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  return {
    status: response?.status ?? 0,
    body: response ? await response.json().catch(() => undefined) : undefined,
  };
}

async function supervised(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await server.start();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** A key, made through any instance that answers. */
async function tenantKey(tenant: string, role: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const created = await call(servers[attempt % 3]!, 'POST', '/v1/admin/keys', SYSTEM_KEY, { tenant, role });
    if (created.status === 201) return created.body.key;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('no instance created a key');
}

it('three instances under kill -9 and a PostgreSQL restart: nothing lost, nothing twice, limits and topic hold', async () => {
  const key = await tenantKey('multi', 'operator');
  const faults: string[] = [];
  let turn = 0;
  const chaos = (async () => {
    for (let kill = 0; kill < 5; kill++) {
      await new Promise((resolve) => setTimeout(resolve, 800 + Math.random() * 1200));
      const victim = Math.floor(Math.random() * 3);
      await servers[victim]!.kill();
      faults.push(`kill ${victim}`);
      // Restarted in the background as a supervisor would: again until it serves (a start
      // while PostgreSQL is down exits); the others carry on meanwhile.
      const restart = supervised(servers[victim]!);
      if (kill === 2) {
        cluster.stop('fast');
        faults.push('postgres stop');
        await new Promise((resolve) => setTimeout(resolve, 3000));
        cluster.start();
      }
      await restart;
    }
  })();
  const load = await submitUnderLoad({
    // Spread over the three; a dead one's requests fail and are retried on the next.
    url: () => servers[turn++ % 3]!.url,
    key,
    count: 60,
    concurrency: 6,
    body: (i) => stubModelRun('multi-test', `m${i}`, { delayMs: 30, transform: i }),
    deadlineMs: 120_000,
    expectedDuringFault: [503],
  });
  await chaos;

  const checked = await audit(store, load.acknowledged);
  // The ledger settles exactly what the runs were charged.
  const [money] = await store.client.query<{ charged: string | null; settled: string | null }>(
    `SELECT (SELECT sum((data->>'chargedMicros')::bigint) FROM aos_events WHERE type = 'CostCharged')::text AS charged,
            (SELECT sum((data->>'actualMicros')::bigint) FROM aos_events WHERE type = 'BudgetSettled')::text AS settled`,
  );

  // The per-key limit across instances: a fresh key, requests spread over the three.
  const probe = await tenantKey('multi-limit', 'viewer');
  const statuses: number[] = [];
  for (let n = 0; n < KEY_LIMIT + 20; n++)
    statuses.push((await call(servers[n % 3]!, 'GET', '/v1/whoami', probe)).status);
  const allowed = statuses.filter((s) => s === 200).length;

  // The topic: every event of the store, each stream in order once re-sends are dropped.
  const [head] = await store.client.query<{ p: string; n: number }>(
    'SELECT max(global_position)::text AS p, count(*)::int AS n FROM aos_events',
  );
  const deadline = Date.now() + 30_000;
  while ((await readCheckpoint(store.client, PUBLISHER_CHECKPOINT))?.split(':')[1] !== head!.p) {
    if (Date.now() > deadline) throw new Error('the publisher did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const messages = await readTopic(kafkaBrokers, topic, head!.n, 30_000);
  const applied = new Map<string, number>();
  let duplicates = 0;
  let outOfOrder = 0;
  for (const m of messages) {
    const last = applied.get(m.streamId) ?? -1;
    if (m.streamPosition <= last) duplicates++;
    else if (m.streamPosition !== last + 1) outOfOrder++;
    else applied.set(m.streamId, m.streamPosition);
  }
  const onTopic = [...applied.values()].reduce((n, p) => n + p + 1, 0);

  recordScenario({
    scenario: 'three instances: kill -9 and PostgreSQL restart',
    operations: load.attempts + statuses.length,
    faults: `${faults.filter((f) => f.startsWith('kill')).length} × SIGKILL of a random instance of 3 (restarted), PostgreSQL stopped 3 s`,
    acknowledged: load.acknowledged.size,
    lost: checked.lost.length,
    duplicated: checked.duplicatedEvents + checked.duplicatedRuns + checked.duplicatedCharges,
    fiveXX: load.fiveXX,
    notes: `${checked.unfinished.length} unfinished, ${checked.openReservations.length} open reservations; charged ${money!.charged} µ$, settled ${money!.settled} µ$; key limit ${KEY_LIMIT}/min across 3 instances: ${allowed} of ${statuses.length} allowed; Kafka: ${onTopic} of ${head!.n} events on the topic in stream order, ${duplicates} re-sent duplicates, ${outOfOrder} out of order`,
  });
  const logs = servers.map((s) => s.output().slice(-1500)).join('\n---\n');
  expect(load.acknowledged.size, logs).toBe(60);
  expect(load.fiveXX).toBe(0);
  expect(checked).toEqual(nothingWrong);
  expect(money!.settled).toBe(money!.charged);
  expect(allowed).toBe(KEY_LIMIT);
  expect(outOfOrder).toBe(0);
  expect(onTopic).toBe(head!.n);
});
