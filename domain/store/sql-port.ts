// The SQL port: the little that the SQL event store, the read models and the projection
// runner need from a PostgreSQL driver. Implemented in infra/store/ by node-postgres (a pool)
// and by PGlite (embedded), so both run the same SQL. A type only, so `domain/` stays pure.

import type { EventStore } from './event-store.ts';
export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements (migrations); no parameters. */
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  /** Runs fn inside BEGIN … COMMIT on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Calls onNotify for each NOTIFY on channel; resolves to an unlisten function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /**
   * Wakes the listeners of channel, outside any transaction: call it after the work it
   * announces has committed. This process's listeners at once; other processes' by a NOTIFY,
   * fire-and-forget and coalesced (a call is never dropped, only merged into a later NOTIFY);
   * errors are ignored, since listeners also poll.
   */
  notify(channel: string): void;
  close(): Promise<void>;
}

/** An event store kept in SQL: the subscription its consumers read, and the client their transactions run on. */
export interface SqlStore extends Pick<EventStore, 'subscribe' | 'readAll'> {
  readonly client: SqlClient;
}
