// The run queue on SQL: FOR UPDATE SKIP LOCKED lets many executors claim concurrently
// without waiting on each other or taking the same run. Enqueuing wakes the executors of
// this process at once and those of others by NOTIFY, so an idle executor issues no query.
import type { AlongsideStatement } from '../../commands/budget-ledger.ts';
import type { ClaimedRun, HandedOverRun, LocalTaker, RunQueue } from '../../commands/run-queue.ts';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';
import type { AlongsideAppend, SqlEventStore } from '../store/sql-event-store.ts';

export const RUN_QUEUE_CHANNEL = 'aos_run_queue';
/** Runs held by an executor were woken (a cancel, an approval) or a stop was recorded. */
export const RUN_HELD_CHANNEL = 'aos_run_held';

/**
 * Makes due a run that is not finished; one held by an executor keeps the wake-up for its
 * release (woken_at, migration 022).
 */
const ENQUEUE_ON_CONFLICT = `ON CONFLICT (run_id) DO UPDATE SET due_at = LEAST(aos_run_queue.due_at, EXCLUDED.due_at),
            woken_at = CASE WHEN aos_run_queue.lease_owner IS NULL THEN aos_run_queue.woken_at
                            ELSE LEAST(coalesce(aos_run_queue.woken_at, EXCLUDED.due_at), EXCLUDED.due_at) END
      WHERE NOT aos_run_queue.done`;

/**
 * The enqueue sent with a run's append: only when its events are recorded (now or before).
 * With a lease owner (its 4th and 5th parameters), a run recorded now is inserted leased to it:
 * its first events make it a new run, so the row is new too (an existing row keeps its lease).
 */
function enqueueAlongside(params: unknown[]): AlongsideAppend {
  return (first, appended) => {
    const $ = (n: number) => `$${first + n - 1}`;
    return {
      sql: `INSERT INTO aos_run_queue (run_id, tenant_id, due_at, lease_owner, lease_expires_at)
     SELECT ${$(1)}::text, ${$(2)}::text, ${$(3)}::timestamptz,
            CASE WHEN appended.status = 'ok' THEN ${$(4)}::text END,
            CASE WHEN appended.status = 'ok' THEN ${$(5)}::timestamptz END
       FROM ${appended}
      WHERE appended.status IN ('ok', 'duplicate')
     ${ENQUEUE_ON_CONFLICT}`,
      params,
    };
  };
}

/** Submissions' states kept for this process's claims (a burst's worth; older ones are read). */
const MAX_HANDED_OVER = 10_000;

/** `store`: the event store on the same client, for `appendDue` (an append and its enqueue in one statement). */
export function createSqlRunQueue(client: SqlClient, store?: Pick<SqlEventStore, 'append'>): RunQueue {
  const handedOver = new Map<string, HandedOverRun>();
  const takers: LocalTaker[] = [];
  /** The handed-over state of a run, given to its claim once (older ones are read). */
  function claimOf(runId: string, tenantId: string): ClaimedRun {
    const run = handedOver.get(runId);
    if (!run) return { runId, tenantId };
    handedOver.delete(runId);
    return { runId, tenantId, handedOver: run };
  }
  return {
    async claim(owner, now, leaseMs, limit) {
      // One statement: the claim, and when the next unclaimed run becomes claimable. That
      // minimum reads every pending run, so it is looked for only when the claim took fewer
      // than it could: with a backlog (the claim full), a 100k-run queue cost ~20 ms a claim.
      const rows = await client.query<ClaimedRun & { nextDueAt: string | null }>(
        `WITH claimed AS (
           UPDATE aos_run_queue q
              SET lease_owner = $1, lease_expires_at = $2::timestamptz + make_interval(secs => $3::float8 / 1000),
                  woken_at = NULL
            WHERE q.run_id IN (
                  SELECT run_id FROM aos_run_queue
                   WHERE NOT done AND due_at <= $2 AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
                   ORDER BY due_at
                   LIMIT $4
                     FOR UPDATE SKIP LOCKED)
          RETURNING q.run_id, q.tenant_id)
         SELECT run_id AS "runId", tenant_id AS "tenantId", NULL AS "nextDueAt" FROM claimed
          UNION ALL
         SELECT NULL, NULL, to_char(min(greatest(due_at, coalesce(lease_expires_at, due_at))) AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           FROM aos_run_queue
          WHERE NOT done AND run_id NOT IN (SELECT run_id FROM claimed)
            AND (SELECT count(*) FROM claimed) < $4`,
        [owner, now.toISOString(), leaseMs, limit],
      );
      const next = rows.find((r) => r.runId === null)?.nextDueAt ?? null;
      return {
        runs: rows.filter((r) => r.runId !== null).map(({ runId, tenantId }) => claimOf(runId, tenantId)),
        nextDueAt: next === null ? null : new Date(next),
      };
    },
    async renew(runId, owner, now, leaseMs) {
      const rows = await client.query(
        `UPDATE aos_run_queue
            SET lease_expires_at = $3::timestamptz + make_interval(secs => $4::float8 / 1000)
          WHERE run_id = $1 AND lease_owner = $2 AND NOT done
        RETURNING run_id`,
        [runId, owner, now.toISOString(), leaseMs],
      );
      return rows.length === 1;
    },
    async release(runId, owner, next) {
      if ('written' in next) return;
      const { sql, params } = releaseStatement(runId, owner, next)(1);
      await client.query(sql, params);
    },
    releaseAlongside: (runId, owner) => releaseStatement(runId, owner, { done: true }),
    async resumePaused(tenantId, now) {
      await resumePausedRuns(client, tenantId, now.toISOString());
      client.notify(RUN_QUEUE_CHANNEL);
    },
    async enqueue(runs) {
      if (runs.length === 0) return;
      const heldWoken = await enqueueRuns(client, runs);
      // This process's executors at once; other processes' through NOTIFY.
      client.notify(RUN_QUEUE_CHANNEL);
      if (heldWoken > 0) client.notify(RUN_HELD_CHANNEL);
    },
    watch: (onWake) => client.listen(RUN_QUEUE_CHANNEL, onWake),
    handOver(runId, run) {
      if (handedOver.size >= MAX_HANDED_OVER) handedOver.delete(handedOver.keys().next().value!);
      handedOver.set(runId, run);
    },
    takeSubmitted(taker) {
      takers.push(taker);
      return () => {
        const at = takers.indexOf(taker);
        if (at >= 0) takers.splice(at, 1);
      };
    },
    wakeHolders: () => client.notify(RUN_HELD_CHANNEL),
    watchHeld: (onWoken) => client.listen(RUN_HELD_CHANNEL, onWoken),
    ...(store && {
      async appendDue(streamId, events, { expectedVersion }, run) {
        const taker = takers.find((t) => t.reserve());
        const leaseExpiresAt = taker && new Date(run.dueAt.getTime() + taker.leaseMs).toISOString();
        const alongside = enqueueAlongside([
          run.runId,
          run.tenantId,
          run.dueAt.toISOString(),
          taker?.owner ?? null,
          leaseExpiresAt ?? null,
        ]);
        let result: Awaited<ReturnType<typeof store.append>>;
        try {
          result = await store.append(streamId, events, { expectedVersion, alongside });
        } catch (error) {
          taker?.unreserve();
          throw error;
        }
        if (taker && !result.duplicate) {
          // Leased to the taker: taken once the caller has handed its state over (`handOver`,
          // right after this resolves); without it, the executor reads the run.
          setImmediate(() => taker.take(claimOf(run.runId, run.tenantId)));
          return result;
        }
        taker?.unreserve();
        client.notify(RUN_QUEUE_CHANNEL);
        return result;
      },
    }),
  };
}

/** Gives a run back (RunQueue.release), its parameters numbered from `first`. */
function releaseStatement(
  runId: string,
  owner: string,
  next: { dueAt: Date; paused?: true } | { done: true },
): AlongsideStatement {
  return (first) => {
    const $ = (n: number) => `$${first + n - 1}`;
    return {
      sql: `UPDATE aos_run_queue
               SET lease_owner = NULL, lease_expires_at = NULL, woken_at = NULL,
                   -- Made due meanwhile (woken_at): not later than that.
                   due_at = coalesce(least(${$(3)}::timestamptz, woken_at), ${$(3)}::timestamptz, due_at),
                   done = ${$(4)}, paused = ${$(5)}
             WHERE run_id = ${$(1)} AND lease_owner = ${$(2)}`,
      params: [
        runId,
        owner,
        'dueAt' in next ? next.dueAt.toISOString() : null,
        'done' in next,
        'paused' in next && next.paused === true,
      ],
    };
  };
}

type QueuedRun = { runId: string; tenantId: string; dueAt: string | Date };

/** One INSERT of the queue's rows for `runs`, `then` deciding what an existing row gets. */
function insertRuns<Row extends object>(tx: Pick<SqlExecutor, 'query'>, runs: QueuedRun[], then: string) {
  return tx.query<Row>(
    `INSERT INTO aos_run_queue (run_id, tenant_id, due_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
     ${then}`,
    [
      runs.map((r) => r.runId),
      runs.map((r) => r.tenantId),
      runs.map((r) => (typeof r.dueAt === 'string' ? r.dueAt : r.dueAt.toISOString())),
    ],
  );
}

/**
 * Makes runs due: new ones, and ones an approval or a cancel should wake. Idempotent. A run
 * held by an executor keeps the wake-up for its release (woken_at, migration 022). Answers how
 * many of the runs are held now: their executors should look at them (`wakeHolders`).
 */
export async function enqueueRuns(tx: Pick<SqlExecutor, 'query'>, runs: QueuedRun[]): Promise<number> {
  if (runs.length === 0) return 0;
  const rows = await insertRuns<{ held: boolean }>(
    tx,
    runs,
    `${ENQUEUE_ON_CONFLICT} RETURNING lease_owner IS NOT NULL AS held`,
  );
  return rows.filter((r) => r.held).length;
}

/**
 * Puts submitted runs in the queue, due at `dueAt`, unless they are there already: a run's
 * submission (appendDue) queued it with its events, and an executor may hold it by now, which a
 * wake-up would only disturb. The run-queue feeder's safety net for a run whose enqueue failed.
 */
export async function queueSubmittedRuns(tx: Pick<SqlExecutor, 'query'>, runs: QueuedRun[]): Promise<void> {
  if (runs.length > 0) await insertRuns(tx, runs, 'ON CONFLICT (run_id) DO NOTHING');
}

/**
 * An emergency stop was lifted (`tenantId` null: every tenant's): the runs released paused are
 * due at `at`. A run held now may be pausing, having seen the stop: it keeps the wake-up for
 * its release (woken_at).
 */
export async function resumePausedRuns(
  tx: Pick<SqlExecutor, 'query'>,
  tenantId: string | null,
  at: string,
): Promise<void> {
  await tx.query(
    `UPDATE aos_run_queue
        SET due_at = CASE WHEN paused THEN least(due_at, $2::timestamptz) ELSE due_at END,
            woken_at = CASE WHEN lease_owner IS NULL THEN woken_at
                            ELSE least(coalesce(woken_at, $2::timestamptz), $2::timestamptz) END,
            paused = false
      WHERE NOT done AND (paused OR lease_owner IS NOT NULL) AND ($1::text IS NULL OR tenant_id = $1)`,
    [tenantId, at],
  );
}
