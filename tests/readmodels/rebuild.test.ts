// A rebuild re-folds every projection from the first event and must produce exactly the
// tables the live runner produced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allProjections } from '../../projections/all.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

async function snapshot(app: TestApp) {
  const tables: Record<string, unknown[]> = {};
  for (const projection of allProjections) {
    for (const table of projection.tables) {
      const order = table.keyColumns.join(', ');
      tables[table.name] = await app.store.client.query(`SELECT * FROM ${table.name} ORDER BY ${order}`);
    }
  }
  return tables;
}

async function caughtUp(app: TestApp) {
  for (let i = 0; i < 300; i++) {
    const status = await app.request('GET', '/v1/admin/projections', { key: SYSTEM_KEY });
    if (status.body.items.every((s: { behindEvents: number }) => s.behindEvents === 0))
      return status.body.items;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('projections never caught up');
}

for (const storeName of stores) {
  describe(`rebuilding projections on ${storeName}`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(storeName);
      const key = await app.keyFor('acme', 'operator');
      const runIds: string[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await app.request('POST', '/v1/runs', {
          key,
          body: {
            agentId: 'rebuilder',
            plan: {
              steps: [
                {
                  skill: 'llm_invoke',
                  input: { model: 'stub', prompt: `p${i}`, stub: { failAttempts: i % 2 } },
                  retry: { initialDelayMs: 5 },
                },
              ],
            },
            budget: { maxCostMicros: 100_000 },
          },
        });
        runIds.push(response.body.runId);
      }
      for (const runId of runIds) await waitForRun(app, key, runId, ['succeeded']);
    });
    afterAll(() => app.stop());

    it('reports lag, rebuilds every projection, and ends with exactly the live tables', async () => {
      const statuses = await caughtUp(app);
      expect(statuses.map((s: { name: string }) => s.name)).toEqual(allProjections.map((p) => p.name));
      const live = await snapshot(app);
      expect((live.rm_status_history as unknown[]).length).toBeGreaterThan(0);
      for (const projection of allProjections) {
        const response = await app.request('POST', `/v1/admin/projections/${projection.name}/rebuild`, {
          key: SYSTEM_KEY,
        });
        expect(response.status).toBe(202);
      }
      await caughtUp(app);
      expect(await snapshot(app)).toEqual(live);
    });

    it('lets only the system key operate projections', async () => {
      const admin = await app.keyFor('acme', 'admin');
      expect((await app.request('GET', '/v1/admin/projections', { key: admin })).status).toBe(403);
      const unknown = await app.request('POST', '/v1/admin/projections/nope/rebuild', { key: SYSTEM_KEY });
      expect(unknown.status).toBe(404);
    });
  });
}
