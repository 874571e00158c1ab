// SqlClient over embedded PGlite: PostgreSQL compiled to WebAssembly, one connection,
// data in a local folder (or in memory when dataDir is omitted).
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';
import { coalescePerChannel } from './coalesce.ts';

/**
 * `dataDir` omitted: in memory. `initialData`: a data folder dumped by PGlite's dumpDataDir
 * to start from, instead of initialising a new one (tests start each database from one dump).
 */
export async function createPGliteClient(dataDir?: string, initialData?: Blob): Promise<SqlClient> {
  const db = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(initialData ? { loadDataDir: initialData } : {}),
  });
  const executor = (target: Pick<PGlite, 'query' | 'exec'>): SqlExecutor => ({
    query: async <R>(sql: string, params?: unknown[]) => (await target.query<R>(sql, params)).rows,
    exec: async (sql: string) => {
      await target.exec(sql);
    },
  });
  // One process owns a PGlite database, so every listener is one of this client's: notify()
  // wakes them directly, without a query on the thread that the database shares with node.
  // A NOTIFY sent in SQL (an append inside a transaction) still reaches them through db.listen.
  // Coalesced (at most one wake-up per channel every 5 ms): each wakes readers that query this
  // very thread, and a burst of appends needs one read, not one per append.
  const listeners = new Map<string, Set<() => void>>();
  const notifier = coalescePerChannel(async (channel) => {
    for (const onNotify of listeners.get(channel) ?? []) onNotify();
  });
  return {
    ...executor(db),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    async listen(channel, onNotify) {
      const unlisten = await db.listen(channel, onNotify);
      const local = listeners.get(channel) ?? new Set();
      listeners.set(channel, local);
      const entry = () => onNotify();
      local.add(entry);
      return async () => {
        local.delete(entry);
        await unlisten();
      };
    },
    notify: (channel) => notifier.trigger(channel),
    async close() {
      notifier.close();
      if (!db.closed) await db.close();
    },
  };
}
