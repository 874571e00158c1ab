// SqlClient over a node-postgres pool. Connection-level failures become
// StoreUnavailableError so the API can answer 503.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';
import { StoreUnavailableError } from '../../domain/store/store-errors.ts';
import { coalescePerChannel } from './coalesce.ts';

export interface PostgresClientOptions {
  connectionString: string;
  /** Search path (schema) for every connection: isolates test suites. */
  schema?: string;
  maxConnections?: number;
}

/**
 * Other processes' wake-ups come at most this often per channel: they are one NOTIFY (a round
 * trip and a transaction) each, while this process's own listeners are woken at once.
 */
const REMOTE_NOTIFY_MS = 25;
/** How soon a LISTEN connection that ended is opened again (and again, while it fails). */
const RELISTEN_MS = 500;

// Class 08 = connection exception; 57P01-03 = admin shutdown / crash shutdown / cannot connect now.
const UNAVAILABLE_SQLSTATES = /^(08|57P0[123]|53300)/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE']);

export function toStoreError(error: unknown): unknown {
  const e = error as { code?: string; message?: string };
  const unavailable =
    (typeof e?.code === 'string' &&
      (UNAVAILABLE_SQLSTATES.test(e.code) || UNAVAILABLE_NODE_CODES.has(e.code))) ||
    /Connection terminated|connection timeout|Cannot use a pool after calling end|is not queryable/i.test(
      e?.message ?? '',
    );
  return unavailable
    ? new StoreUnavailableError(`PostgreSQL unreachable: ${e.message}`, { cause: error })
    : error;
}

async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toStoreError(error);
  }
}

export function createPostgresClient(options: PostgresClientOptions): SqlClient {
  const config: pg.PoolConfig = {
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5_000,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
  const pool = new pg.Pool(config);
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // Nor may a checked-out one. The pool listens only while a client is idle, and node-postgres
  // parses a whole socket chunk synchronously: a chunk holding one query's ReadyForQuery and
  // then the server's FATAL hands the client to the next waiter and emits the error before that
  // waiter's code can attach a listener (a crash seen under a PostgreSQL restart). The error
  // still reaches the caller: the client is no longer queryable, and its next query fails.
  pool.on('connect', (client) => client.on('error', () => {}));
  // This process's listeners are woken directly; other processes' by an autocommitted NOTIFY on
  // any pool connection (it writes nothing else, so its commit does not wait for a WAL flush),
  // at most one per channel every REMOTE_NOTIFY_MS. It carries this client's id, so that its
  // echo does not wake this process's listeners a second time.
  const instance = randomUUID();
  const local = new Map<string, Set<() => void>>();
  const notifier = coalescePerChannel(
    (channel) => pool.query('SELECT pg_notify($1, $2)', [channel, instance]),
    REMOTE_NOTIFY_MS,
  );
  // A burst of appends wakes this process's readers once per 5 ms, not once per append.
  const localNotifier = coalescePerChannel(async (channel) => {
    for (const onNotify of local.get(channel) ?? []) onNotify();
  });

  const executor = (client: pg.Pool | pg.PoolClient): SqlExecutor => ({
    query: async <R>(sql: string, params?: unknown[]) =>
      run(async () => (await client.query(sql, params as unknown[])).rows as R[]),
    // Without parameters node-postgres uses the simple protocol, which takes several statements.
    exec: async (sql: string) => {
      await run(() => client.query(sql));
    },
  });

  return {
    ...executor(pool),
    async transaction(fn) {
      const client = await run(() => pool.connect());
      // The pool listens for errors only on idle clients: a checked-out one whose connection
      // dies (a server restart) would otherwise crash the process. The query in flight reports it.
      let broken = false;
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        const failure = toStoreError(error);
        if (failure instanceof StoreUnavailableError) broken = true;
        else await client.query('ROLLBACK').catch(() => {});
        throw failure;
      } finally {
        client.off('error', onError);
        // A broken connection is destroyed rather than returned to the pool.
        client.release(broken);
      }
    },
    async listen(channel, onNotify) {
      let stopped = false;
      let client: pg.Client | undefined;
      /**
       * A LISTEN connection that ends (a PostgreSQL restart, a terminated backend) is opened
       * again, and the listener woken once it is back: what was announced meanwhile is lost.
       */
      const open = async (): Promise<void> => {
        const listening = new pg.Client(config);
        client = listening;
        listening.on('error', () => {});
        listening.on('notification', (message) => {
          if (message.channel === channel && message.payload !== instance) onNotify();
        });
        listening.on('end', () => {
          if (!stopped && listening === client) setTimeout(reopen, RELISTEN_MS).unref();
        });
        await run(() => listening.connect());
        await listening.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      };
      let reopening = false;
      const reopen = () => {
        if (stopped || reopening) return;
        reopening = true;
        open().then(
          () => {
            reopening = false;
            onNotify();
          },
          () => {
            reopening = false;
            if (!stopped) setTimeout(reopen, RELISTEN_MS).unref();
          },
        );
      };
      await open();
      const listeners = local.get(channel) ?? new Set();
      local.set(channel, listeners);
      const entry = () => onNotify();
      listeners.add(entry);
      return async () => {
        stopped = true;
        listeners.delete(entry);
        await client?.end().catch(() => {});
      };
    },
    notify(channel) {
      localNotifier.trigger(channel);
      notifier.trigger(channel);
    },
    async close() {
      notifier.close();
      localNotifier.close();
      await pool.end();
    },
  };
}
