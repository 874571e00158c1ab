// The whole application in process, on PGlite (in memory) or a fresh PostgreSQL schema.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type AppOverrides, openApp } from '../../api/app.ts';
import { loadConfig } from '../../infra/config.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createTestPGliteClient } from './pglite.ts';
import { createTestSchema, databaseUrl } from './postgres.ts';

export const SYSTEM_KEY = `aos_test_system_key_${'x'.repeat(40)}`;

export interface TestApp extends App {
  request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    options?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** Creates a tenant key with the system key. */
  keyFor(tenant: string, role: 'admin' | 'operator' | 'auditor' | 'viewer'): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestApp(
  store: 'pglite' | 'postgres',
  env: Record<string, string> = {},
  overrides: AppOverrides = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-app-'));
  let dropSchema = async () => {};
  let client = overrides.client;
  if (!client && store === 'postgres') {
    const { schema, drop } = await createTestSchema();
    dropSchema = drop;
    client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 20 });
  }
  client ??= await createTestPGliteClient();
  const config = loadConfig({
    AOS_DATA_DIR: dataDir,
    AOS_BOOTSTRAP_KEY: SYSTEM_KEY,
    AOS_LOG_LEVEL: 'silent',
    AOS_HTTP_ALLOW_HOSTS: '127.0.0.1',
    // No scheduled estimator canary writing into a test's store unless the test asks for one.
    AOS_CANARY_INTERVAL_MS: '0',
    ...env,
  });
  const app = await openApp(config, { executor: { pollIntervalMs: 20 }, ...overrides, client });
  const request: TestApp['request'] = async (method, url, options = {}) => {
    const response = await app.server.inject({
      method,
      url,
      headers: {
        ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { payload: options.body as object }),
    });
    const text = response.body;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.statusCode, body, headers: response.headers };
  };
  return {
    ...app,
    request,
    async keyFor(tenant, role) {
      const created = await request('POST', '/v1/admin/keys', { key: SYSTEM_KEY, body: { tenant, role } });
      if (created.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(created.body)}`);
      return created.body.key as string;
    },
    async stop() {
      await app.close();
      await dropSchema();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until the run reaches one of `statuses` (or fails the test after `timeoutMs`). */
export async function waitForRun(
  app: TestApp,
  key: string,
  runId: string,
  statuses: string[],
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await app.request('GET', `/v1/runs/${runId}`, { key });
    if (statuses.includes(run.body?.status)) return run.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} stuck at ${JSON.stringify(run.body?.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
