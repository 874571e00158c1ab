// How far a gap-free reader of aos_events may go, and who holds it back.
//
// Rows are read in (transaction_id, global_position) order, so a reader must not pass the xid
// of a transaction that may still commit rows into aos_events. PostgreSQL's snapshot xmin is
// the oldest running xid of the whole CLUSTER; a transaction in another database can never
// write this database's tables, so its xid is left out. An xid is left out only when
// pg_stat_activity positively names another database for it: an xid it cannot place (a
// prepared transaction, a backend that ended after the snapshot) still holds the reader back
// for that read. See docs/architecture.md, "Gap-free reading".
import type { SqlExecutor } from '../../domain/store/sql-port.ts';

/**
 * A scalar subquery: every row of aos_events whose transaction_id is below it has committed
 * and is visible to the statement's snapshot. Evaluated once per statement (an InitPlan), and
 * without reading pg_stat_activity when no transaction is running.
 */
export const READ_HORIZON_SQL = `(SELECT CASE WHEN pg_snapshot_xmin(s) = pg_snapshot_xmax(s) THEN pg_snapshot_xmax(s)
    ELSE coalesce((SELECT min(x) FROM pg_snapshot_xip(s) AS x
       WHERE xid(x) NOT IN (SELECT backend_xid FROM pg_stat_activity
                             WHERE backend_xid IS NOT NULL AND datname <> current_database())),
      pg_snapshot_xmax(s)) END
   FROM pg_current_snapshot() AS s)`;

/** The backend whose open transaction the store's readers cannot pass. */
export interface BlockingBackend {
  pid: number;
  database: string | null;
  user: string | null;
  applicationName: string | null;
  state: string | null;
  /** Seconds since its transaction began. */
  ageSeconds: number;
  transactionStart: string | null;
  queryStart: string | null;
}

export interface ReadHorizon {
  /** Seconds the oldest transaction that holds the readers back has been open; 0 when none. */
  heldSeconds: number;
  blocker: BlockingBackend | null;
}

interface BlockerRow {
  pid: number;
  datname: string | null;
  usename: string | null;
  application_name: string | null;
  state: string | null;
  age: number | string | null;
  xact_start: Date | string | null;
  query_start: Date | string | null;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

/**
 * The oldest transaction with an xid that is not in another database: the readers' horizon
 * is at or below its xid until it ends.
 */
export async function readHorizon(sql: Pick<SqlExecutor, 'query'>): Promise<ReadHorizon> {
  const [row] = await sql.query<BlockerRow>(
    `SELECT pid, datname::text AS datname, usename::text AS usename, application_name, state,
            extract(epoch FROM clock_timestamp() - xact_start)::float8 AS age, xact_start, query_start
       FROM pg_stat_activity
      WHERE backend_xid IS NOT NULL AND coalesce(datname = current_database(), true)
        AND pid <> pg_backend_pid()
      ORDER BY age(backend_xid) DESC LIMIT 1`,
  );
  if (!row) return { heldSeconds: 0, blocker: null };
  const age = Math.max(0, Number(row.age ?? 0));
  return {
    heldSeconds: Number.isFinite(age) ? age : 0,
    blocker: {
      pid: row.pid,
      database: row.datname,
      user: row.usename,
      applicationName: row.application_name,
      state: row.state,
      ageSeconds: Number.isFinite(age) ? age : 0,
      transactionStart: iso(row.xact_start),
      queryStart: iso(row.query_start),
    },
  };
}

export interface ReadHorizonLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export interface ReadHorizonMonitor {
  /** The last observation; undefined before the first (or while the database does not answer). */
  current(): ReadHorizon | undefined;
  stop(): Promise<void>;
}

/**
 * Looks at the horizon every `intervalMs` and logs a warning, once per blocking transaction,
 * when one has held the readers back for `warnAfterSeconds`; an info line when it is gone.
 */
export function monitorReadHorizon(
  sql: Pick<SqlExecutor, 'query'>,
  options: { intervalMs: number; warnAfterSeconds: number; log: ReadHorizonLog },
): ReadHorizonMonitor {
  let last: ReadHorizon | undefined;
  let warned: { pid: number; transactionStart: string | null } | undefined;
  let running: Promise<void> = Promise.resolve();
  const sameTransaction = (b: BlockingBackend | null) =>
    b !== null &&
    warned !== undefined &&
    b.pid === warned.pid &&
    b.transactionStart === warned.transactionStart;

  const check = async () => {
    try {
      last = await readHorizon(sql);
    } catch {
      last = undefined; // The store's own errors are reported by /readyz and the consumers.
      return;
    }
    const blocker = last.blocker;
    if (warned && !sameTransaction(blocker)) {
      options.log.info({ pid: warned.pid }, 'the transaction holding back the event readers has ended');
      warned = undefined;
    }
    if (blocker && !warned && blocker.ageSeconds >= options.warnAfterSeconds) {
      warned = { pid: blocker.pid, transactionStart: blocker.transactionStart };
      options.log.warn(
        { blockingBackend: blocker },
        `a transaction open ${Math.round(blocker.ageSeconds)} s (pid ${blocker.pid}, database ${blocker.database}) holds back every reader of the event store (read models and other checkpointed consumers) until it ends`,
      );
    }
  };
  const timer = setInterval(() => {
    running = running.then(check);
  }, options.intervalMs);
  timer.unref();
  running = check();
  return {
    current: () => last,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
