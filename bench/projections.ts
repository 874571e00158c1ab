// Rebuilding every projection (readmodels/projection-runner.ts: all six consumers from
// checkpoint zero, each batch's rows, entity states and checkpoint in one transaction)
// over a store of real run events, against the plainest pipeline that reads the same
// events and writes the same rows: a keyset SELECT of the events, JSON.parse of each
// payload, and one batched INSERT per table per page of the rows the projections ended
// with. What the runner adds: six readers instead of one, gap-free reads, the fold, the
// entity-state table, upserts and increments instead of final rows, checkpoints.
// Target (issue 4, item 9): >= 0.5 x the raw pipeline's events/s.
import { createHash } from 'node:crypto';
import { createExecutor } from '../commands/executor.ts';
import { ensurePriceTable } from '../commands/reference-data.ts';
import type { NewEvent, RecordedEvent } from '../domain/store/envelope.ts';
import { createSqlBudgetLedger } from '../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue, enqueueRuns } from '../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../infra/skills/index.ts';
import { createSqlEventStore, type SqlEventStore } from '../infra/store/sql-event-store.ts';
import { allProjections } from '../projections/all.ts';
import { PROJECTION_BATCH } from '../readmodels/projection-group.ts';
import { resetProjection, startProjections } from '../readmodels/projection-runner.ts';
import { projectionStatuses } from '../readmodels/projection-status.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { type BenchDatabase, onEveryStore, openBenchDatabase, type StoreKind } from './support/databases.ts';
import { concurrently, paired } from './support/measure.ts';
import { figure } from './support/report.ts';
import { submitRuns, threeStepPlan } from './support/runs.ts';

const SIZES: Record<'quick' | 'full', Record<StoreKind, { events: number; repetitions: number }>> = {
  quick: { postgres: { events: 60_000, repetitions: 3 }, pglite: { events: 20_000, repetitions: 3 } },
  full: { postgres: { events: 1_000_000, repetitions: 3 }, pglite: { events: 50_000, repetitions: 3 } },
};
/** Template runs executed for real; the store is filled with copies of their events. */
const TEMPLATE_RUNS = 20;
const TEMPLATE_TENANT = 'benchtenant';
/** The anchor reads pages as large as the runner's batches. */
const PAGE = PROJECTION_BATCH;
const LOADERS = 8;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

function uuidFor(copy: number, uuid: string): string {
  const h = createHash('sha256').update(`${copy}:${uuid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The template's events as a copy of its own: every id renamed, another tenant. */
function copyOf(copy: number, text: string): string {
  return text.replace(UUID, (u) => uuidFor(copy, u)).replaceAll(TEMPLATE_TENANT, `${TEMPLATE_TENANT}${copy}`);
}

/** Runs the template runs through the executor to their end (one retries a failed call). */
async function executeTemplates(store: SqlEventStore, db: BenchDatabase) {
  const clock = () => new Date();
  await ensurePriceTable(store, clock());
  const skills = createDefaultSkillPort({ now: clock });
  const ids = await submitRuns(
    { store, skills, clock },
    TEMPLATE_RUNS,
    () => TEMPLATE_TENANT,
    0,
    (i) => threeStepPlan(i, { failFirst: i % 4 === 0 }),
  );
  const now = clock().toISOString();
  await enqueueRuns(
    db.client,
    ids.map((runId) => ({ runId, tenantId: TEMPLATE_TENANT, dueAt: now })),
  );
  const executor = createExecutor(
    {
      store,
      queue: createSqlRunQueue(db.client),
      ledger: createSqlBudgetLedger(store),
      skills,
      clock,
      dayLimitMicros: () => Number.MAX_SAFE_INTEGER,
    },
    { pollIntervalMs: 5 },
  );
  executor.start();
  for (;;) {
    const [row] = await db.client.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM aos_run_queue WHERE NOT done',
    );
    if (row!.n === '0') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await executor.stop();
  await skills.close();
}

/** Fills the store up to `total` events with copies of the templates' streams, appended through the store. */
async function fill(store: SqlEventStore, total: number, log: (line: string) => void) {
  const template: RecordedEvent[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.readAll({ limit: 10_000, ...(after ? { after } : {}) });
    template.push(...page.events.filter((e) => e.metadata.tenantId === TEMPLATE_TENANT));
    if (page.events.length === 0) break;
    after = page.checkpoint;
  }
  const streams = new Map<string, RecordedEvent[]>();
  for (const e of template) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  const copies = Math.max(0, Math.ceil((total - template.length) / template.length));
  log(
    `${TEMPLATE_RUNS} template runs wrote ${template.length} events in ${streams.size} streams; appending ${copies} copies`,
  );
  let next = 1;
  await concurrently(LOADERS, async () => {
    for (let copy = next++; copy <= copies; copy = next++) {
      for (const [streamId, events] of streams) {
        const newEvents: NewEvent[] = events.map((e) => ({
          eventId: uuidFor(copy, e.eventId),
          type: e.type,
          schemaVersion: e.schemaVersion,
          data: JSON.parse(copyOf(copy, JSON.stringify(e.data))),
          metadata: JSON.parse(copyOf(copy, JSON.stringify(e.metadata))),
        }));
        await store.append(copyOf(copy, streamId), newEvents, { expectedVersion: 'no_stream' });
      }
    }
    return 0;
  });
}

async function eventCount(db: BenchDatabase): Promise<number> {
  const [row] = await db.client.query<{ n: string }>('SELECT count(*)::text AS n FROM aos_events');
  return Number(row!.n);
}

async function resetAll(store: SqlEventStore, db: BenchDatabase) {
  for (const projection of allProjections) {
    await store.client.transaction((tx) => resetProjection(tx, projection));
  }
  await db.client.exec('VACUUM ANALYZE');
}

/** The runner's rebuild: every projection from checkpoint zero, until all reach the store's head. */
async function rebuildAll(store: SqlEventStore): Promise<void> {
  const running = await startProjections(store, allProjections, { pollIntervalMs: 250 });
  try {
    for (;;) {
      const statuses = await projectionStatuses(store.client, allProjections);
      if (statuses.every((s) => s.behindEvents === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await running.stop();
  }
}

const rawName = (table: string) => `bench_raw_${table}`;
const tables = allProjections.flatMap((p) => p.tables.map((t) => t.name));

/** The rows every table ended with, cut into one slice per page of events. */
async function rowSlices(db: BenchDatabase, pages: number) {
  const slices = new Map<string, string[]>();
  for (const table of tables) {
    const rows = await db.client.query(`SELECT * FROM ${table}`);
    const per = Math.ceil(rows.length / pages);
    slices.set(
      table,
      Array.from({ length: pages }, (_, p) => JSON.stringify(rows.slice(p * per, (p + 1) * per))),
    );
    await db.client.exec(
      `DROP TABLE IF EXISTS ${rawName(table)};
       CREATE TABLE ${rawName(table)} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
    );
  }
  return slices;
}

/** The anchor: keyset pages of events, JSON.parse, each page's slice of rows inserted in one transaction. */
async function rawPipeline(db: BenchDatabase, slices: Map<string, string[]>): Promise<number> {
  let after = 0;
  let events = 0;
  let sink = 0;
  for (let page = 0; ; page++) {
    const rows = await db.client.query<{ p: string; data: string; metadata: string }>(
      `SELECT global_position::text AS p, data::text AS data, metadata::text AS metadata FROM aos_events
        WHERE global_position > $1 ORDER BY global_position LIMIT ${PAGE}`,
      [after],
    );
    if (rows.length === 0) return events;
    for (const row of rows) {
      sink += Object.keys(JSON.parse(row.data)).length + Object.keys(JSON.parse(row.metadata)).length;
    }
    await db.client.transaction(async (tx) => {
      for (const table of tables) {
        const slice = slices.get(table)![page];
        if (!slice || slice === '[]') continue;
        await tx.query(
          `INSERT INTO ${rawName(table)} SELECT * FROM jsonb_populate_recordset(NULL::${rawName(table)}, $1::jsonb)`,
          [slice],
        );
      }
    });
    events += rows.length;
    after = Number(rows.at(-1)!.p);
    if (sink < 0) throw new Error('unreachable');
  }
}

async function measureStore(
  kind: StoreKind,
  size: { events: number; repetitions: number },
  context: SuiteContext,
) {
  const log = (line: string) => context.log(`  [${kind}] ${line}`);
  const db = await openBenchDatabase(kind, 'projections', { maxConnections: LOADERS + 2 });
  try {
    const store = createSqlEventStore(db.client);
    log('executing the template runs');
    await executeTemplates(store, db);
    const started = Date.now();
    await fill(store, size.events, log);
    const events = await eventCount(db);
    log(
      `${events} events in the store (${((Date.now() - started) / 1000).toFixed(0)} s to load); first rebuild, untimed`,
    );
    await resetAll(store, db);
    await rebuildAll(store);
    const slices = await rowSlices(db, Math.ceil(events / PAGE));
    log(
      `rows: ${(
        await Promise.all(
          tables.map(
            async (t) => `${t} ${(await db.client.query(`SELECT count(*)::text AS n FROM ${t}`))[0]!.n}`,
          ),
        )
      ).join(', ')}`,
    );
    const result = await paired(
      [
        {
          label: 'rebuild',
          prepare: () => resetAll(store, db),
          run: async () => {
            await rebuildAll(store);
            return events;
          },
        },
        {
          label: 'raw',
          prepare: async () => {
            await db.client.exec(`TRUNCATE ${tables.map(rawName).join(', ')}`);
            await db.client.exec('VACUUM ANALYZE');
          },
          run: () => rawPipeline(db, slices),
        },
      ],
      { repetitions: size.repetitions, warmups: 0, log: context.log },
    );
    return [
      figure({
        store: kind,
        name: `rebuild all ${allProjections.length} projections, ${events} events`,
        unit: 'events/s',
        value: result.median.rebuild!,
        anchor: 'keyset read + JSON.parse + batched INSERT of the same rows',
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: 0.5,
      }),
    ];
  } finally {
    await db.close();
  }
}

export const suite: Suite = {
  description:
    'projections: rebuilding every read model from the first event vs a raw read-parse-insert pipeline',
  async run(context) {
    const sizes = SIZES[context.quick ? 'quick' : 'full'];
    return onEveryStore((kind) => measureStore(kind, sizes[kind], context));
  },
};
