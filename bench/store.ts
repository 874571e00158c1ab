// The event store against raw SQL on the same database, on PostgreSQL and on PGlite:
// what the store's guarantees (concurrency check, idempotency, hash chain, stream
// heads, NOTIFY) cost over the plainest INSERT or SELECT that stores the same rows.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import type { NewEvent, RecordedEvent } from '../domain/store/envelope.ts';
import { START } from '../domain/store/event-store.ts';
import type { SqlClient } from '../domain/store/sql-port.ts';
import { migrate } from '../infra/store/migrate.ts';
import { createPGliteClient } from '../infra/store/pglite-client.ts';
import { createPostgresClient } from '../infra/store/postgres-client.ts';
import { createSqlEventStore, type SqlEventStore } from '../infra/store/sql-event-store.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { concurrently, paired } from './support/measure.ts';
import {
  benchDatabaseUrl,
  benchSchema,
  ensureDatabase,
  execOn,
  peerDatabaseUrl,
} from './support/postgres.ts';
import { type Figure, figure } from './support/report.ts';

type StoreKind = 'postgres' | 'pglite';

interface Sizes {
  repetitions: number;
  single: number;
  concurrent: number;
  batch: number;
  readAll: number;
}

// Events per timed run. PostgreSQL commits wait for the WAL flush, so single appends are slow.
const SIZES: Record<'quick' | 'full', Record<StoreKind, Sizes>> = {
  quick: {
    postgres: { repetitions: 3, single: 400, concurrent: 1_600, batch: 5_000, readAll: 50_000 },
    pglite: { repetitions: 3, single: 1_000, concurrent: 1_000, batch: 5_000, readAll: 50_000 },
  },
  full: {
    postgres: { repetitions: 7, single: 2_000, concurrent: 8_000, batch: 30_000, readAll: 100_000 },
    pglite: { repetitions: 7, single: 4_000, concurrent: 4_000, batch: 30_000, readAll: 100_000 },
  },
};

const CLIENTS = 8;
const EVENTS_PER_STREAM = 100;
const BATCH = 100;
const BATCHES_PER_STREAM = 10;
const READ_PAGE = 1000;
/** The raw anchor stores a constant in the hash columns: it computes no hash chain. */
const RAW_HASH = 'f'.repeat(64);

const COLUMNS =
  'event_id, stream_id, stream_position, type, schema_version, data, metadata, tenant_id, recorded_at, prev_hash, hash';

/** The anchor of single appends: one statement, conditional on the stream position being free. */
const RAW_INSERT_ONE = `INSERT INTO bench_raw (${COLUMNS})
  SELECT $1::uuid, $2::text, $3::bigint, $4::text, $5::int, $6::jsonb, $7::jsonb, $8::text,
         $9::timestamptz, $10::text, $11::text
  WHERE NOT EXISTS (SELECT 1 FROM bench_raw WHERE stream_id = $2 AND stream_position >= $3)
  RETURNING global_position`;

/** The anchor of batch appends: one unnest INSERT of the whole batch, same condition. */
const RAW_INSERT_BATCH = `INSERT INTO bench_raw (${COLUMNS})
  SELECT t.event_id, $1::text, $2::bigint + t.ord - 1, t.type, t.schema_version, t.data, t.metadata,
         $3::text, $4::timestamptz, $5::text, $5::text
    FROM unnest($6::uuid[], $7::text[], $8::int[], $9::jsonb[], $10::jsonb[])
         WITH ORDINALITY AS t(event_id, type, schema_version, data, metadata, ord)
   WHERE NOT EXISTS (SELECT 1 FROM bench_raw WHERE stream_id = $1 AND stream_position >= $2)
  RETURNING global_position`;

/** The anchor of readAll: keyset pagination on the primary key. */
const RAW_SELECT_PAGE = `SELECT global_position, transaction_id, event_id, stream_id, stream_position, type,
    schema_version, data, metadata, recorded_at, prev_hash, hash
  FROM aos_events WHERE global_position > $1 ORDER BY global_position LIMIT ${READ_PAGE}`;

export function benchEvents(count: number): NewEvent[] {
  const correlationId = randomUUID();
  return Array.from({ length: count }, (_, n) => ({
    eventId: randomUUID(),
    type: n % 3 === 0 ? 'ToolCalled' : n % 3 === 1 ? 'ToolReturned' : 'StepCompleted',
    schemaVersion: 1,
    data: {
      n,
      tool: 'web.search',
      input: { query: 'event sourcing on postgres', limit: 10 },
      usage: { promptTokens: 812, completionTokens: 164 },
      ok: true,
    },
    metadata: { tenantId: 'tenant-a', actor: 'bench', correlationId },
  }));
}

async function rawInsertOne(client: SqlClient, event: NewEvent, streamId: string, position: number) {
  const rows = await client.query(RAW_INSERT_ONE, [
    event.eventId,
    streamId,
    position,
    event.type,
    event.schemaVersion,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
    event.metadata.tenantId,
    new Date().toISOString(),
    RAW_HASH,
    RAW_HASH,
  ]);
  if (rows.length !== 1) throw new Error(`raw insert refused at ${streamId}@${position}`);
}

async function rawInsertBatch(client: SqlClient, batch: NewEvent[], streamId: string, position: number) {
  const rows = await client.query(RAW_INSERT_BATCH, [
    streamId,
    position,
    batch[0]!.metadata.tenantId,
    new Date().toISOString(),
    RAW_HASH,
    batch.map((e) => e.eventId),
    batch.map((e) => e.type),
    batch.map((e) => e.schemaVersion),
    batch.map((e) => JSON.stringify(e.data)),
    batch.map((e) => JSON.stringify(e.metadata)),
  ]);
  if (rows.length !== batch.length) throw new Error(`raw batch refused at ${streamId}@${position}`);
}

/** What a projection does with each event; the same for the store and the anchor. */
interface Fold {
  count: number;
  sum: number;
  byType: Map<string, number>;
}
const newFold = (): Fold => ({ count: 0, sum: 0, byType: new Map() });
function foldEvent(state: Fold, type: string, data: unknown) {
  state.count++;
  state.sum += (data as { n: number }).n;
  state.byType.set(type, (state.byType.get(type) ?? 0) + 1);
}

type RawRow = Pick<RecordedEvent, 'type' | 'data'> & { global_position: string | number };

interface Target {
  kind: StoreKind;
  client: SqlClient;
  store: SqlEventStore;
  /** Empty event, stream and anchor tables (untimed, before each timed run). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function prepareSchema(client: SqlClient) {
  await migrate(client);
  await client.exec('CREATE TABLE IF NOT EXISTS bench_raw (LIKE aos_events INCLUDING ALL)');
}

async function postgresTarget(): Promise<Target> {
  const url = await ensureDatabase(benchDatabaseUrl);
  const schema = benchSchema('store');
  await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const client = createPostgresClient({ connectionString: url, schema, maxConnections: CLIENTS });
  await prepareSchema(client);
  return {
    kind: 'postgres',
    client,
    store: createSqlEventStore(client),
    reset: () => client.exec('TRUNCATE aos_events, aos_streams, bench_raw RESTART IDENTITY'),
    async close() {
      await client.close();
      await execOn(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

async function pgliteTarget(): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-bench-pglite-'));
  const client = await createPGliteClient(dataDir);
  await prepareSchema(client);
  return {
    kind: 'pglite',
    client,
    store: createSqlEventStore(client),
    reset: () => client.exec('TRUNCATE aos_events, aos_streams, bench_raw RESTART IDENTITY'),
    async close() {
      await client.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Emmett in a database of its own, so its tables never mix with ours. */
async function emmettTarget() {
  const url = await ensureDatabase(peerDatabaseUrl('emmett'));
  const store: PostgresEventStore = getPostgreSQLEventStore(url);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  return {
    store,
    reset: async () => {
      await admin.query(`DO $$ BEGIN
        IF to_regclass('emt_messages') IS NOT NULL THEN TRUNCATE emt_messages, emt_streams; END IF;
      END $$`);
    },
    async close() {
      await admin.end();
      await store.close();
    },
  };
}

async function measureTarget(target: Target, sizes: Sizes, context: SuiteContext): Promise<Figure[]> {
  const { kind, client, store } = target;
  const log = (line: string) => context.log(`  [${kind}] ${line}`);
  const options = { repetitions: sizes.repetitions, warmups: 1, log: context.log };
  const figures: Figure[] = [];
  const reset = () => target.reset();

  // 1. One event per append, one client; streams of 100 events.
  {
    const events = benchEvents(sizes.single);
    log(`1 event per append, 1 client: ${events.length} events per run`);
    const result = await paired(
      [
        {
          label: 'store',
          prepare: reset,
          run: async (run) => {
            for (let i = 0; i < events.length; i++) {
              const streamId = `run-${run}-${Math.floor(i / EVENTS_PER_STREAM)}`;
              const expectedVersion = (i % EVENTS_PER_STREAM) - 1;
              await store.append(streamId, [events[i]!], { expectedVersion });
            }
            return events.length;
          },
        },
        {
          label: 'raw',
          prepare: reset,
          run: async (run) => {
            for (let i = 0; i < events.length; i++) {
              const streamId = `run-${run}-${Math.floor(i / EVENTS_PER_STREAM)}`;
              await rawInsertOne(client, events[i]!, streamId, i % EVENTS_PER_STREAM);
            }
            return events.length;
          },
        },
      ],
      options,
    );
    figures.push(
      figure({
        store: kind,
        name: 'append 1 event, 1 client',
        unit: 'events/s',
        value: result.median.store!,
        anchor: 'raw conditional INSERT, 1 client',
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: 0.85,
      }),
    );
  }

  // 2. One event per append, 8 clients on different streams; Emmett beside (PostgreSQL only).
  {
    const events = benchEvents(sizes.concurrent);
    const perClient = Math.floor(events.length / CLIENTS);
    const total = perClient * CLIENTS;
    const emmett = kind === 'postgres' ? await emmettTarget() : null;
    log(`1 event per append, ${CLIENTS} clients: ${total} events per run${emmett ? ', with Emmett' : ''}`);
    const streamOf = (run: number, c: number, i: number) =>
      `run-${run}-c${c}-${Math.floor(i / EVENTS_PER_STREAM)}`;
    const contenders = [
      {
        label: 'store',
        prepare: reset,
        run: (run: number) =>
          concurrently(CLIENTS, async (c) => {
            for (let i = 0; i < perClient; i++) {
              await store.append(streamOf(run, c, i), [events[c * perClient + i]!], {
                expectedVersion: (i % EVENTS_PER_STREAM) - 1,
              });
            }
            return perClient;
          }),
      },
      {
        label: 'raw',
        prepare: reset,
        run: (run: number) =>
          concurrently(CLIENTS, async (c) => {
            for (let i = 0; i < perClient; i++) {
              await rawInsertOne(
                client,
                events[c * perClient + i]!,
                streamOf(run, c, i),
                i % EVENTS_PER_STREAM,
              );
            }
            return perClient;
          }),
      },
    ];
    if (emmett) {
      contenders.push({
        label: 'emmett',
        prepare: emmett.reset,
        run: (run: number) =>
          concurrently(CLIENTS, async (c) => {
            for (let i = 0; i < perClient; i++) {
              const event = events[c * perClient + i]!;
              const position = i % EVENTS_PER_STREAM;
              await emmett.store.appendToStream(
                streamOf(run, c, i),
                [{ type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata }],
                position === 0 ? undefined : { expectedStreamVersion: BigInt(position) },
              );
            }
            return perClient;
          }),
      });
    }
    try {
      const result = await paired(contenders, options);
      figures.push(
        figure({
          store: kind,
          name: `append 1 event, ${CLIENTS} clients`,
          unit: 'events/s',
          value: result.median.store!,
          anchor: `raw conditional INSERT, ${CLIENTS} clients`,
          anchor_value: result.median.raw!,
          ratios: result.ratioTo('raw'),
          target: 0.85,
        }),
        figure({
          store: kind,
          name: `append 1 event, ${CLIENTS} clients`,
          unit: 'events/s',
          value: result.median.store!,
          anchor: `emmett-postgresql, ${CLIENTS} clients`,
          anchor_value: emmett ? result.median.emmett! : null,
          ratios: emmett ? result.ratioTo('emmett') : null,
          target: 1.2,
        }),
      );
    } finally {
      await emmett?.close();
    }
  }

  // 3. 100 events per append, one client; streams of 10 appends.
  {
    const events = benchEvents(sizes.batch - (sizes.batch % BATCH));
    const batches = Array.from({ length: events.length / BATCH }, (_, b) =>
      events.slice(b * BATCH, (b + 1) * BATCH),
    );
    log(`${BATCH} events per append, 1 client: ${events.length} events per run`);
    const result = await paired(
      [
        {
          label: 'store',
          prepare: reset,
          run: async (run) => {
            for (let b = 0; b < batches.length; b++) {
              const streamId = `run-${run}-${Math.floor(b / BATCHES_PER_STREAM)}`;
              const expectedVersion = (b % BATCHES_PER_STREAM) * BATCH - 1;
              await store.append(streamId, batches[b]!, { expectedVersion });
            }
            return events.length;
          },
        },
        {
          label: 'raw',
          prepare: reset,
          run: async (run) => {
            for (let b = 0; b < batches.length; b++) {
              const streamId = `run-${run}-${Math.floor(b / BATCHES_PER_STREAM)}`;
              await rawInsertBatch(client, batches[b]!, streamId, (b % BATCHES_PER_STREAM) * BATCH);
            }
            return events.length;
          },
        },
      ],
      options,
    );
    figures.push(
      figure({
        store: kind,
        name: `append ${BATCH} events, 1 client`,
        unit: 'events/s',
        value: result.median.store!,
        anchor: `raw ${BATCH}-row unnest INSERT`,
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: 0.8,
      }),
    );
  }

  // 4. readAll + fold over the whole store, against a keyset SELECT + the same fold.
  {
    await reset();
    const events = benchEvents(sizes.readAll);
    log(`readAll + fold: loading ${events.length} events`);
    for (let i = 0; i < events.length; i += 1000) {
      await store.append(`load-${i / 1000}`, events.slice(i, i + 1000), { expectedVersion: 'no_stream' });
    }
    await client.exec('VACUUM ANALYZE aos_events');
    const check = (state: Fold) => {
      if (state.count !== events.length) throw new Error(`read ${state.count} of ${events.length} events`);
      return state.count;
    };
    const result = await paired(
      [
        {
          label: 'store',
          run: async () => {
            const state = newFold();
            let after = START;
            for (;;) {
              const page = await store.readAll({ after, limit: READ_PAGE });
              if (page.events.length === 0) break;
              for (const e of page.events) foldEvent(state, e.type, e.data);
              after = page.checkpoint;
            }
            return check(state);
          },
        },
        {
          label: 'raw',
          run: async () => {
            const state = newFold();
            let after: RawRow['global_position'] = 0;
            for (;;) {
              const rows: RawRow[] = await client.query<RawRow>(RAW_SELECT_PAGE, [after]);
              if (rows.length === 0) break;
              for (const row of rows) foldEvent(state, row.type, row.data);
              after = rows.at(-1)!.global_position;
            }
            return check(state);
          },
        },
      ],
      options,
    );
    figures.push(
      figure({
        store: kind,
        name: `readAll + fold, ${events.length} events`,
        unit: 'events/s',
        value: result.median.store!,
        anchor: 'raw keyset SELECT + fold',
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: 0.8,
      }),
    );
  }
  return figures;
}

export const suite: Suite = {
  description:
    'store: the AOS event store against raw SQL on the same database (PostgreSQL and PGlite), and Emmett',
  async run(context) {
    const sizes = SIZES[context.quick ? 'quick' : 'full'];
    const figures: Figure[] = [];
    for (const open of [postgresTarget, pgliteTarget]) {
      const target = await open();
      try {
        context.log(`${target.kind}: ${sizes[target.kind].repetitions} repetitions per figure`);
        figures.push(...(await measureTarget(target, sizes[target.kind], context)));
      } finally {
        await target.close();
      }
    }
    return figures;
  },
};
