// `aos replay --compare`: the live read models of the key's tenant, read over the API, and the
// replayed rows shaped exactly as the API answers (the same row mappers, readmodels/queries.ts),
// each under the key that names its row — ready for replay/compare.ts.

import type { AosClient } from '../../client/index.ts';
import { type DivergenceSource, divergenceReport } from '../../domain/divergence.ts';
import { roundRatios } from '../../projections/divergence-wire.ts';
import type { RowValues } from '../../projections/projection.ts';
import {
  approvalItem,
  divergenceSampleOf,
  failureGroups,
  policyDecisionItem,
  runListItem,
  statusHistoryRow,
} from '../../readmodels/queries.ts';
import type { KeyedRows } from '../../replay/compare.ts';
import type { ReadModels } from '../../replay/replay-fold.ts';

/** Every sample: the divergence report's window is explicit on both sides. */
const WINDOW = { start: '1970-01-01T00:00:00.000Z', end: '9999-12-31T00:00:00.000Z' };
const SOURCES: DivergenceSource[] = ['estimators', 'actual'];
const COST_GROUPS = ['day', 'skill', 'model'] as const;
type Row = Record<string, unknown>;

const keyed = <T>(rows: Iterable<T>, key: (row: T) => string): KeyedRows => {
  const map: KeyedRows = new Map();
  for (const row of rows) map.set(key(row), row);
  return map;
};

function costGroups(rows: readonly RowValues[]): Row[] {
  const out: Row[] = [];
  for (const groupBy of COST_GROUPS) {
    const sums = new Map<string, Row>();
    for (const row of rows) {
      const key = String(row[groupBy]);
      const sum = sums.get(key) ?? {
        [groupBy]: key,
        charges: 0,
        chargedMicros: 0,
        computedMicros: 0,
        providerMicros: 0,
        estimateMicros: 0,
      };
      sum.charges = (sum.charges as number) + Number(row.charges);
      sum.chargedMicros = (sum.chargedMicros as number) + Number(row.charged_micros);
      sum.computedMicros = (sum.computedMicros as number) + Number(row.computed_micros);
      sum.providerMicros = (sum.providerMicros as number) + Number(row.provider_micros);
      sum.estimateMicros = (sum.estimateMicros as number) + Number(row.estimate_micros);
      sums.set(key, sum);
    }
    out.push(...sums.values());
  }
  return out;
}

const costKey = (row: Row) => COST_GROUPS.map((g) => (g in row ? `${g}=${row[g]}` : '')).join('');

const divergenceWindow = (source: DivergenceSource) => ({
  startDate: WINDOW.start,
  endDate: WINDOW.end,
  source,
});

/** An approval row with its step's id, which the API reads from the run's row. */
function withStepId(runs: readonly RowValues[]) {
  const steps = new Map(
    runs.map((run) => [run.run_id, (run.detail as { steps: Array<{ id: string }> }).steps]),
  );
  return (row: RowValues) => ({
    ...row,
    step_id: steps.get(row.run_id)?.[row.step_index as number]?.id ?? null,
  });
}

/** The replayed rows of one tenant, in the API's shapes. */
export function replayedViews(models: ReadModels, tenantId: string): Record<string, KeyedRows> {
  const mine = (rows: readonly RowValues[]) => rows.filter((row) => row.tenant_id === tenantId);
  const samples = mine(models.divergence);
  const approvals = mine(models.approvals)
    .map(withStepId(mine(models.runs)))
    .map(approvalItem);
  return {
    status_history: keyed(mine(models.status_history).map(statusHistoryRow), (row) => String(row.id)),
    runs: keyed(mine(models.runs).map(runListItem), (row) => row.runId),
    costs: keyed(costGroups(mine(models.costs)), costKey),
    failures: keyed(
      failureGroups(mine(models.failures), mine(models.failure_classes)),
      (row) => row.errorCode,
    ),
    policy_decisions: keyed(mine(models.policy_decisions).map(policyDecisionItem), (row) =>
      String(row.decisionId),
    ),
    approvals: keyed(approvals, (row) => row.approvalId),
    divergence: keyed(
      SOURCES.map((source) =>
        roundRatios(
          divergenceReport(
            samples.filter((row) => row.source === source).map(divergenceSampleOf),
            divergenceWindow(source),
          ),
        ),
      ),
      (report) => report.source,
    ),
  };
}

type Page = { items: readonly object[]; next_cursor: string | null };

/** Every page of a keyset-paged route, 500 rows at a time. */
async function allPages(page: (query: { limit: number; cursor?: string }) => Promise<Page>): Promise<Row[]> {
  const items: Row[] = [];
  let cursor: string | null = null;
  do {
    const next: Page = await page({ limit: 500, ...(cursor ? { cursor } : {}) });
    items.push(...(next.items as Row[]));
    cursor = next.next_cursor;
  } while (cursor);
  return items;
}

/** The live read models of the key's tenant. */
export async function liveViews(server: AosClient): Promise<Record<string, KeyedRows>> {
  const history = await allPages((query) => server.statusHistory({ query: { ...query, format: 'json' } }));
  const costs: Row[] = [];
  for (const groupBy of COST_GROUPS) {
    costs.push(...(await server.costs({ query: { group_by: groupBy } })).items);
  }
  const reports = [];
  for (const source of SOURCES) {
    reports.push(
      await server.divergence({ query: { source, start_date: WINDOW.start, end_date: WINDOW.end } }),
    );
  }
  return {
    status_history: keyed(history, (row) => String(row.id)),
    runs: keyed(await allPages((query) => server.listRuns({ query })), (row) => String(row.runId)),
    costs: keyed(costs, costKey),
    failures: keyed((await server.failures()).items, (row) => String(row.errorCode)),
    policy_decisions: keyed(await allPages((query) => server.policyDecisions({ query })), (row) =>
      String(row.decisionId),
    ),
    approvals: keyed(await allPages((query) => server.listApprovals({ query })), (row) =>
      String(row.approvalId),
    ),
    divergence: keyed(reports, (report) => String(report.source)),
  };
}
