// The event store on PostgreSQL SQL, shared by the `pg` and PGlite adapters.
// One round trip per append (the aos_append function); gap-free readAll by
// (transaction_id, global_position) below the oldest running transaction of this database
// (read-horizon.ts). Subscribers are
// woken by a NOTIFY sent after an append commits (coalesced, outside the append), or at
// commit when the append runs inside a caller's transaction.

import { setTimeout as sleep } from 'node:timers/promises';
import type { AlongsideStatement } from '../../commands/budget-ledger.ts';
import { chainEvents, type StreamHead, streamTypeOf } from '../../domain/store/chain-events.ts';
import { formatCheckpoint, parseCheckpoint } from '../../domain/store/checkpoint.ts';
import type {
  AppendResult,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  StreamInfo,
} from '../../domain/store/envelope.ts';
import type {
  EventStore,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  SubscribeOptions,
  SubscriptionHandler,
} from '../../domain/store/event-store.ts';
import { GENESIS_HASH } from '../../domain/store/hash-chain.ts';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';
import {
  ConcurrencyError,
  EventIdConflictError,
  InvalidInputError,
} from '../../domain/store/store-errors.ts';
import {
  DEFAULT_MAX_EVENT_BYTES,
  validateAppend,
  validateStreamId,
} from '../../domain/store/validate-append.ts';
import { DEFAULT_GROUPS, type GroupOptions, groupedSends } from './grouped-sends.ts';
import { headWatch } from './head-watch.ts';
import { READ_HORIZON_SQL } from './read-horizon.ts';
import { sharedReads } from './shared-reads.ts';
import { StreamHeadCache } from './stream-head-cache.ts';
import { pollingSubscription } from './subscription.ts';

export interface SqlEventStoreOptions {
  clock?: () => Date;
  maxEventBytes?: number;
  /** How concurrent autocommitted appends are grouped (tests: one out at a time). */
  groups?: GroupOptions;
}

/**
 * A data-modifying statement sent in the same statement as an append, as a CTE beside it:
 * `statement(first, appended)` numbers its parameters from `$first` and reads the append's
 * answer (`status`…) from the FROM item `appended` (aliased `appended`), to act only on what
 * the append did (e.g. `… FROM ${appended} WHERE appended.status IN ('ok', 'duplicate')`). It
 * commits with the events, or rolls back with them.
 */
export type AlongsideAppend = (first: number, appended: string) => { sql: string; params: unknown[] };

/** An event store whose appends can join a caller's transaction (commands, tests). */
export interface SqlEventStore extends EventStore {
  readonly client: SqlClient;
  /** `EventStore.append`; `alongside`: one more statement sent with the append, in the same one. */
  append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion; alongside?: AlongsideAppend },
  ): Promise<AppendResult>;
  /**
   * Appends through `tx`: the events commit (or roll back) with the caller's transaction, and
   * subscribers are woken at that commit (NOTIFY in the transaction). `wake: 'after_commit'`:
   * the caller calls `wakeSubscribers()` once it has committed instead — a notifying
   * transaction holds PostgreSQL's notification lock through its WAL flush, which serialises
   * the commits of concurrent writers.
   */
  appendWith(
    tx: SqlExecutor,
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion; wake?: 'at_commit' | 'after_commit' },
  ): Promise<AppendResult>;
  /** Wakes subscribers (coalesced, fire-and-forget), as an autocommitted append does. */
  wakeSubscribers(): void;
  settled(maxWaitMs: number): Promise<void>;
  /**
   * Appends to several streams within a statement of the caller's (aos_transitions, migration
   * 180): `send` is given each append's aos_append arguments and answers aos_append's rows, in
   * order, every one 'ok' (else it throws, and nothing is written). Undefined, with nothing
   * sent, when a stream's head is not known here: each must then be appended on its own.
   */
  appendWithin(
    appends: readonly { streamId: string; events: readonly NewEvent[]; expectedVersion: ExpectedVersion }[],
    send: (appends: AppendArguments[]) => Promise<AppendedRow[]>,
  ): Promise<AppendResult[] | undefined>;
  /** `readStream` through `tx`: inside a caller's transaction (PGlite's one connection is held by it). */
  readStreamWith(tx: SqlExecutor, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
}

/** What aos_append answers for events it appended. */
export interface AppendedRow {
  stream_version: string | number;
  head_hash: string;
  global_positions: (string | number)[] | null;
}

interface AppendRow extends AppendedRow {
  status: 'ok' | 'duplicate' | 'wrong_version' | 'stale_head' | 'event_id_conflict';
  stream_positions: (string | number)[] | null;
}

/**
 * aos_append's arguments, by name (aos_transitions reads them so from JSON); the events' data
 * and metadata as the JSON texts their validation wrote.
 */
export interface AppendArguments {
  streamId: string;
  streamType: string;
  tenantId: string | null;
  expected: string;
  assumedVersion: number;
  assumedHash: string | null;
  eventIds: string[];
  types: string[];
  schemaVersions: number[];
  data: string[];
  metadata: string[];
  recordedAt: string;
  hashes: string[];
}

/**
 * The JSON object of `fields` (at least one) and `arrays`, whose items are JSON texts already
 * written, put in as they are rather than parsed and written again.
 */
export function jsonWithArraysOfJson(fields: object, arrays: Record<string, readonly string[]>): string {
  let text = JSON.stringify(fields).slice(0, -1);
  for (const [name, items] of Object.entries(arrays)) text += `,${JSON.stringify(name)}:[${items.join(',')}]`;
  return `${text}}`;
}

/** `args` as the JSON object aos_appends and aos_transitions read. */
export function appendArgumentsJson(args: AppendArguments): string {
  const { data, metadata, ...rest } = args;
  return jsonWithArraysOfJson(rest, { data, metadata });
}

type AssumedHead = { version: number; hash: string | null };
type ValidatedAppend = ReturnType<typeof validateAppend>;

// An event is read as one JSON array built in SQL, one text column, parsed by one JSON.parse:
// the drivers decode every column on their own (PGlite in JavaScript), which was most of a
// read's cost — on PGlite 43 µs an event as twelve columns, 19 as one. ORDER BY must then name
// table columns (aos_events.x). recorded_at comes as the very string Date#toISOString gave at
// append (the hash covers it): formatting it in SQL spares a Date parse and re-format per row
// (see assertIsoYear).
const EVENT_JSON = `json_build_array(global_position::text, transaction_id::text, event_id, stream_id,
  stream_position, type, schema_version, data, metadata,
  to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), prev_hash, hash)::text AS event`;

/** What EVENT_JSON's array holds, in its order. */
type EventTuple = [
  globalPosition: string,
  transactionId: string,
  eventId: string,
  streamId: string,
  streamPosition: number,
  type: string,
  schemaVersion: number,
  data: unknown,
  metadata: RecordedEvent['metadata'],
  recordedAt: string,
  prevHash: string,
  hash: string,
];

const APPEND_CALL = 'SELECT * FROM aos_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)';

/**
 * `statements` as CTEs of one statement (`, alongside_<n> AS (…)`), their parameters appended
 * to `params`: they commit with it, and a statement that raises takes them back with it.
 */
export function alongsideCtes(params: unknown[], statements: readonly AlongsideStatement[]): string {
  return statements
    .map((statement, i) => {
      const { sql, params: own } = statement(params.length + 1);
      params.push(...own);
      return `, alongside_${i} AS (${sql})`;
    })
    .join('');
}

function appendStatement(params: unknown[], alongside: AlongsideAppend | undefined) {
  if (!alongside) return { sql: APPEND_CALL, params };
  const all = [...params];
  const ctes = alongsideCtes(all, [(first) => alongside(first, 'appended')]);
  return { sql: `WITH appended AS (${APPEND_CALL})${ctes} SELECT * FROM appended`, params: all };
}

/** An autocommitted append waiting to be sent, possibly with others. */
interface GroupedAppend {
  args: AppendArguments;
  alongside: AlongsideAppend | undefined;
}

/** aos_append's parameters, in order, for `args`. */
function positional(a: AppendArguments, notify: boolean): unknown[] {
  return [
    a.streamId,
    a.streamType,
    a.tenantId,
    a.expected,
    a.assumedVersion,
    a.assumedHash,
    a.eventIds,
    a.types,
    a.schemaVersions,
    a.data,
    a.metadata,
    a.recordedAt,
    a.hashes,
    notify,
  ];
}

/**
 * Several appends as one statement (aos_appends, migration 181), each one's statement alongside
 * as a CTE reading its own answer. Answers each append's row, in order.
 */
function appendGroupStatement(appends: GroupedAppend[]) {
  const params: unknown[] = [`[${appends.map((a) => appendArgumentsJson(a.args)).join(',')}]`];
  const ctes = alongsideCtes(
    params,
    appends.flatMap(({ alongside }, i) =>
      alongside
        ? [(first: number) => alongside(first, `(SELECT * FROM appended WHERE item = ${i + 1}) AS appended`)]
        : [],
    ),
  );
  return {
    sql: `WITH appended AS (SELECT * FROM aos_appends($1::jsonb))${ctes} SELECT * FROM appended`,
    params,
  };
}

const CHANNEL = 'aos_events';
const DEFAULT_READ_LIMIT = 1000;
const MAX_READ_LIMIT = 10_000;

/** Two appends racing the same event id into different streams: the loser gets the typed error. */
async function queryAppend(
  tx: SqlExecutor,
  streamId: string,
  eventIds: string[],
  params: unknown[],
  alongside: AlongsideAppend | undefined,
) {
  try {
    const statement = appendStatement(params, alongside);
    const [row] = await tx.query<AppendRow>(statement.sql, statement.params);
    return row!;
  } catch (error) {
    const e = error as { code?: string; constraint?: string; message?: string };
    if (e.code === '23505' && /aos_events_event_id_key/.test(`${e.constraint} ${e.message}`)) {
      throw new EventIdConflictError(streamId, eventIds);
    }
    throw error;
  }
}

/** EventTuple's fields by name (its second, the transaction id, is only for the checkpoint). */
function toRecorded(t: EventTuple): RecordedEvent {
  return {
    eventId: t[2],
    streamId: t[3],
    streamPosition: t[4],
    globalPosition: t[0],
    type: t[5],
    schemaVersion: t[6],
    data: t[7],
    metadata: t[8],
    recordedAt: t[9],
    prevHash: t[10],
    hash: t[11],
  };
}

function eventTuples(rows: readonly { event: string }[]): EventTuple[] {
  return rows.map((row) => JSON.parse(row.event) as EventTuple);
}

/**
 * to_char's YYYY matches Date#toISOString for years 0001 to 9999 only (toISOString writes
 * +YYYYYY beyond, and year 0 is 1 BC to PostgreSQL): a clock outside them would make read
 * events fail their hash check, so such an append is refused.
 */
function assertIsoYear(recordedAt: string) {
  if (recordedAt.length !== 24 || recordedAt.startsWith('0000')) {
    throw new RangeError(`the store's clock reads ${recordedAt}: years 0001 to 9999 only`);
  }
}

export function readLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_READ_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_READ_LIMIT) {
    throw new InvalidInputError('limit', `must be an integer from 1 to ${MAX_READ_LIMIT}`);
  }
  return limit;
}

export function createSqlEventStore(client: SqlClient, options: SqlEventStoreOptions = {}): SqlEventStore {
  const clock = options.clock ?? (() => new Date());
  const limits = { maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES };
  const heads = new StreamHeadCache();
  const appendGrouped = groupedSends(async (appends: GroupedAppend[]): Promise<AppendRow[]> => {
    if (appends.length === 1) {
      const [{ args, alongside }] = appends as [GroupedAppend];
      return [await queryAppend(client, args.streamId, args.eventIds, positional(args, false), alongside)];
    }
    const statement = appendGroupStatement(appends);
    const rows = await client.query<AppendRow & { item: number }>(statement.sql, statement.params);
    return appends.map((_, i) => rows.find((row) => row.item === i + 1)!);
  }, options.groups ?? DEFAULT_GROUPS);

  /** The head to chain on without asking: known for new streams, cached for recent ones. */
  function assumedHead(streamId: string, expected: ExpectedVersion): AssumedHead {
    if (expected === 'no_stream' || expected === -1) return { version: -1, hash: GENESIS_HASH };
    const cached = heads.get(streamId);
    if (typeof expected === 'number') {
      return cached?.version === expected ? cached : { version: expected, hash: null };
    }
    return cached ?? { version: -1, hash: GENESIS_HASH };
  }

  /** aos_append's arguments for `input` chained on `head` (no hashes when the head is unknown). */
  function appendArguments(input: ValidatedAppend, head: AssumedHead, recordedAt: string): AppendArguments {
    return {
      streamId: input.streamId,
      streamType: streamTypeOf(input.streamId),
      tenantId: input.tenantId,
      expected: String(input.expectedVersion),
      assumedVersion: head.version,
      assumedHash: head.hash,
      eventIds: input.events.map((e) => e.eventId),
      types: input.events.map((e) => e.type),
      schemaVersions: input.events.map((e) => e.schemaVersion),
      data: input.events.map((e) => e.json.data),
      metadata: input.events.map((e) => e.json.metadata),
      recordedAt,
      hashes:
        head.hash === null
          ? input.events.map(() => '')
          : chainEvents(input.streamId, input.events, head as StreamHead, recordedAt).map((e) => e.hash),
    };
  }

  /** An 'ok' answer of aos_append: the new head remembered, the events' positions. */
  function appended(streamId: string, eventIds: string[], row: AppendedRow): AppendResult {
    const version = Number(row.stream_version);
    heads.set(streamId, { version, hash: row.head_hash });
    return {
      streamVersion: version,
      duplicate: false,
      positions: eventIds.map((eventId, i) => ({
        eventId,
        streamPosition: version - eventIds.length + 1 + i,
        globalPosition: String(row.global_positions![i]),
      })),
    };
  }

  function validated(streamId: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion) {
    const input = validateAppend(streamId, events, expectedVersion, limits);
    const recordedAt = clock().toISOString();
    assertIsoYear(recordedAt);
    return { input, recordedAt };
  }

  /**
   * One round trip when the assumed head is right. When it was stale, a numbered
   * expectation retries once on the head the store returned; after that (or for
   * "any"/"stream_exists", whose head may keep moving) the head is read under the
   * stream's row lock, so the retry cannot be stale again.
   */
  async function appendVia(
    tx: SqlExecutor,
    inTransaction: <T>(fn: (locked: SqlExecutor) => Promise<T>) => Promise<T>,
    /** In a caller's transaction: NOTIFY from aos_append, delivered when that transaction commits. */
    inCallerTransaction: boolean,
    /** Whether aos_append notifies (in a caller's transaction that wakes subscribers at commit). */
    notifyInTransaction: boolean,
    streamId: string,
    events: readonly NewEvent[],
    expectedVersion: ExpectedVersion,
    alongside?: AlongsideAppend,
  ): Promise<AppendResult> {
    const { input, recordedAt } = validated(streamId, events, expectedVersion);
    const eventIds = input.events.map((e) => e.eventId);
    const call = (on: SqlExecutor, head: AssumedHead) =>
      queryAppend(
        on,
        input.streamId,
        eventIds,
        positional(appendArguments(input, head, recordedAt), notifyInTransaction),
        alongside,
      );

    const head = assumedHead(input.streamId, input.expectedVersion);
    // Autocommitted, the first try goes with whatever other appends are waiting.
    let row = inCallerTransaction
      ? await call(tx, head)
      : await appendGrouped({ args: appendArguments(input, head, recordedAt), alongside });
    if (row.status === 'stale_head' && typeof input.expectedVersion === 'number') {
      row = await call(tx, { version: Number(row.stream_version), hash: row.head_hash });
    }
    if (row.status === 'stale_head') {
      row = await inTransaction(async (locked) => {
        const [current] = await locked.query<{ version: string | number; last_hash: string }>(
          'SELECT version, last_hash FROM aos_streams WHERE stream_id = $1 FOR UPDATE',
          [input.streamId],
        );
        const head = current ? { version: Number(current.version), hash: current.last_hash } : undefined;
        return call(locked, head ?? { version: -1, hash: GENESIS_HASH });
      });
    }

    const version = Number(row.stream_version);
    switch (row.status) {
      case 'ok':
        if (!inCallerTransaction) client.notify(CHANNEL);
        return appended(input.streamId, eventIds, row);
      case 'duplicate':
        return {
          streamVersion: version,
          duplicate: true,
          positions: eventIds.map((eventId, i) => ({
            eventId,
            streamPosition: Number(row.stream_positions![i]),
            globalPosition: String(row.global_positions![i]),
          })),
        };
      case 'event_id_conflict':
        throw new EventIdConflictError(input.streamId, eventIds);
      default:
        heads.set(input.streamId, { version, hash: row.head_hash });
        throw new ConcurrencyError(input.streamId, input.expectedVersion, version);
    }
  }

  const appendWithin: SqlEventStore['appendWithin'] = async (appends, send) => {
    const prepared = [];
    for (const { streamId, events, expectedVersion } of appends) {
      const { input, recordedAt } = validated(streamId, events, expectedVersion);
      const head = assumedHead(input.streamId, input.expectedVersion);
      if (head.hash === null) return undefined;
      prepared.push(appendArguments(input, head, recordedAt));
    }
    const rows = await send(prepared);
    return prepared.map((args, i) => appended(args.streamId, args.eventIds, rows[i]!));
  };

  const appendWith: SqlEventStore['appendWith'] = (tx, streamId, events, { expectedVersion, wake }) =>
    appendVia(tx, (fn) => fn(tx), true, wake !== 'after_commit', streamId, events, expectedVersion);

  async function readAllOnce(readOptions: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = parseCheckpoint(readOptions.after);
    const limit = readLimit(readOptions.limit);
    const params: unknown[] = [after.transactionId, after.globalPosition, limit];
    let where = '';
    if (readOptions.filter?.types) {
      params.push(readOptions.filter.types);
      where += ` AND type = ANY($${params.length}::text[])`;
    }
    if (readOptions.filter?.tenantId !== undefined) {
      params.push(readOptions.filter.tenantId);
      where += ` AND tenant_id = $${params.length}`;
    }
    const rows = await client.query<{ event: string }>(
      `SELECT ${EVENT_JSON} FROM aos_events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND transaction_id < ${READ_HORIZON_SQL}${where}
        ORDER BY aos_events.transaction_id, aos_events.global_position
        LIMIT $3`,
      params,
    );
    const tuples = eventTuples(rows);
    const last = tuples.at(-1);
    return {
      events: tuples.map(toRecorded),
      checkpoint: last ? formatCheckpoint(last[1], last[0]) : (readOptions.after ?? '0:0'),
    };
  }

  /** Every subscription's fallback: one look per period at the newest readable event. */
  const head = headWatch(async () => {
    const [row] = await client.query<{ head: string }>(
      `SELECT transaction_id::text || ':' || global_position::text AS head FROM aos_events
        WHERE transaction_id < ${READ_HORIZON_SQL}
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    );
    return row?.head ?? null;
  });

  /**
   * Waits for the read horizon to reach an xid taken now: every xid assigned before it — every
   * transaction that may have been writing at the call — has then ended. (A snapshot's xmax
   * would not do: a running xid above every completed one is at or past it, not listed.)
   */
  async function settled(maxWaitMs: number): Promise<void> {
    const [now] = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    const until = performance.now() + maxWaitMs;
    for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
      const [row] = await client.query<{ passed: boolean }>(
        `SELECT ${READ_HORIZON_SQL} >= $1::xid8 AS passed`,
        [now!.xid],
      );
      if (row!.passed || performance.now() >= until) return;
      await sleep(pauseMs);
    }
  }

  // The server's consumers read the same pages: one query for them all (shared-reads.ts).
  const readAll = sharedReads(readAllOnce, readLimit);

  async function readStreamOn(
    sql: SqlExecutor,
    streamId: string,
    readOptions: ReadStreamOptions = {},
  ): Promise<RecordedEvent[]> {
    validateStreamId(streamId);
    const limit = readLimit(readOptions.limit ?? MAX_READ_LIMIT);
    const backward = readOptions.direction === 'backward';
    const from = readOptions.from ?? (backward ? Number.MAX_SAFE_INTEGER : 0);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new InvalidInputError('from', 'must be an integer >= 0');
    const rows = await sql.query<{ event: string }>(
      `SELECT ${EVENT_JSON} FROM aos_events
        WHERE stream_id = $1 AND stream_position ${backward ? '<=' : '>='} $2
        ORDER BY stream_position ${backward ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamId, from, limit],
    );
    const events = eventTuples(rows).map(toRecorded);
    const newest = backward ? events[0] : events.at(-1);
    if (newest) heads.set(streamId, { version: newest.streamPosition, hash: newest.hash });
    return events;
  }

  const store: SqlEventStore = {
    client,
    appendWith,
    appendWithin,
    append: (streamId, events, { expectedVersion, alongside }) =>
      appendVia(
        client,
        (fn) => client.transaction(fn),
        false,
        false,
        streamId,
        events,
        expectedVersion,
        alongside,
      ),
    wakeSubscribers: () => client.notify(CHANNEL),

    readStream: (streamId, readOptions) => readStreamOn(client, streamId, readOptions),
    readStreamWith: readStreamOn,

    readAll,
    settled,

    subscribe(handler: SubscriptionHandler, subscribeOptions: SubscribeOptions = {}) {
      return pollingSubscription(
        readAll,
        (wake) => client.listen(CHANNEL, wake),
        handler,
        subscribeOptions,
        head,
      );
    },

    async streamInfo(streamId): Promise<StreamInfo | null> {
      validateStreamId(streamId);
      const [row] = await client.query<{
        stream_id: string;
        stream_type: string;
        tenant_id: string | null;
        version: string | number;
        last_hash: string;
        created_at: Date;
        updated_at: Date;
      }>('SELECT * FROM aos_streams WHERE stream_id = $1', [streamId]);
      if (!row) return null;
      return {
        streamId: row.stream_id,
        streamType: row.stream_type,
        tenantId: row.tenant_id,
        version: Number(row.version),
        lastHash: row.last_hash,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      };
    },

    async ping() {
      await client.query('SELECT 1');
    },

    close: () => client.close(),
  };
  return store;
}
