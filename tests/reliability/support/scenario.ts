// A scenario's surroundings: a fresh PostgreSQL schema, the server process on it, keys,
// and the store opened beside it for the audit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresClient } from '../../../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../../../infra/store/sql-event-store.ts';
import { freePort } from '../../support/free-port.ts';
import { createTestSchema, databaseUrl } from '../../support/postgres.ts';
import { type ServerProcess, serverProcess } from './server-process.ts';

export const SYSTEM_KEY = `aos_reliability_system_${'k'.repeat(40)}`;

export interface Scenario {
  server: ServerProcess;
  store: SqlEventStore;
  /** Calls the running server. */
  call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }>;
  tenantKey(tenant: string, role: string): Promise<string>;
  dispose(): Promise<void>;
}

export async function openScenario(
  env: Record<string, string> = {},
  baseUrl = databaseUrl,
): Promise<Scenario> {
  const { schema, drop } = await createTestSchema(baseUrl);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'aos-rel-'));
  const port = await freePort();
  const server = serverProcess(
    {
      AOS_STORE: 'postgres',
      DATABASE_URL: url.toString(),
      AOS_DATA_DIR: dataDir,
      AOS_BOOTSTRAP_KEY: SYSTEM_KEY,
      AOS_EXECUTOR_LEASE_MS: '1500',
      // No scheduled canary: its events would count among a scenario's writes.
      AOS_CANARY_INTERVAL_MS: '0',
      ...env,
    },
    port,
  );
  await server.start();
  const client = createPostgresClient({ connectionString: baseUrl, schema, maxConnections: 4 });
  const store = createSqlEventStore(client);
  const call: Scenario['call'] = async (method, path, key, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    server,
    store,
    call,
    async tenantKey(tenant, role) {
      const created = await call('POST', '/v1/admin/keys', SYSTEM_KEY, { tenant, role });
      if (created.status !== 201) throw new Error(`key: ${JSON.stringify(created.body)}`);
      return created.body.key;
    },
    async dispose() {
      await server.stop().catch(() => {});
      await client.close();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until every projection has caught up with the store. */
export async function projectionsCaughtUp(scenario: Scenario, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const status = await scenario.call('GET', '/v1/admin/projections', SYSTEM_KEY);
    last = status.body;
    if (status.body?.items?.every((s: { behindEvents: number }) => s.behindEvents === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // What was behind, and what the server said last: a failure here has to tell why.
  throw new Error(
    `projections never caught up: ${JSON.stringify(last)}\nserver output (end): ${scenario.server.output().slice(-3000)}`,
  );
}
