// A live batch loads the states of the entities it touches by probing the state table's key,
// one probe per entity: its cost follows the batch, not the table. A plain join let PostgreSQL
// hash-join over a scan of every state ever kept (seen under load: ~30 ms a batch at 12k
// states, where the probes take ~1.5 ms).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { loadStates } from '../../readmodels/project-batch.ts';
import { type StoreHarness, sqlAdapters } from '../support/stores.ts';

const KEPT = 20_000;
const WANTED = 400;

/** Every plan node's type and relation, depth first. */
function planNodes(plan: Record<string, unknown>): string[] {
  const here = `${plan['Node Type']}${plan['Relation Name'] ? ` on ${plan['Relation Name']}` : ''}`;
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [here, ...children.flatMap(planNodes)];
}

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`loading entity states on ${adapter.name}`, () => {
    let harness: StoreHarness<SqlEventStore>;
    beforeEach(async () => {
      harness = await adapter.open();
      await migrate(harness.store.client, allMigrations);
      await harness.store.client.exec(`INSERT INTO aos_projection_state (projection, key, state)
        SELECT 'p', 'k' || n, jsonb_build_object('n', n) FROM generate_series(1, ${KEPT}) AS n;
        ANALYZE aos_projection_state`);
    });
    afterEach(() => harness.cleanup());

    it('finds the kept states of a batch by key, and probes the key instead of scanning the table', async () => {
      const client = harness.store.client;
      // Half the keys are kept, half are new (no state yet).
      const keys = Array.from({ length: WANTED }, (_, i) => `k${i % 2 === 0 ? i + 1 : KEPT + i}`);
      const sent: { sql: string; params: unknown[] }[] = [];
      const recording: Pick<SqlExecutor, 'query'> = {
        query: (async (sql: string, params: unknown[] = []) => {
          sent.push({ sql, params });
          return client.query(sql, params);
        }) as SqlExecutor['query'],
      };

      const states = await loadStates(recording)(new Map([['p', keys]]), new Map());

      const found = states.get('p')!;
      expect(found.size).toBe(WANTED / 2);
      expect(found.get('k1')).toEqual({ n: 1 });
      expect(found.get(`k${KEPT + 1}`)).toBeUndefined();
      expect(sent).toHaveLength(1);
      const [{ 'QUERY PLAN': explained }] = (await client.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) ${sent[0]!.sql}`,
        sent[0]!.params,
      )) as [{ 'QUERY PLAN': unknown }];
      const [{ Plan: plan }] = (typeof explained === 'string' ? JSON.parse(explained) : explained) as [
        { Plan: Record<string, unknown> },
      ];
      const nodes = planNodes(plan);
      expect(nodes.some((node) => node.endsWith('on aos_projection_state'))).toBe(true);
      expect(nodes).not.toContain('Seq Scan on aos_projection_state');
    });
  });
}
