// The publisher's checkpoint, moved one batch behind the sends: the move of batch N (a
// database round trip and commit) runs while batch N+1 is sent, instead of holding that send
// back. The guarantees stay those of a move after each acknowledged send:
//
// - a move's target is the end of a batch the broker acknowledged;
// - moves are strictly ordered: the next starts only once the previous one has settled, and
//   each is a compare-and-set from the checkpoint the previous one wrote;
// - each is fenced by the lease in the same statement, so a publisher that lost its lease
//   never moves its successor's checkpoint.
//
// The price is in what a crash re-sends: the batch whose move was under way as well as the
// batch being sent, at most two batches instead of one (still at-least-once).
import type { Checkpoint } from '../../domain/store/event-store.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { holdsLease } from '../store/lease.ts';

export interface TrailingCheckpoint {
  /**
   * Called after the batch ending at `acknowledged` was acknowledged: settles the previous
   * move, then starts moving the checkpoint to `acknowledged` without waiting for it. Returns
   * where to read on from: `acknowledged`, or, when the previous move was refused (another
   * publisher moved the checkpoint), the shared checkpoint read afresh, and then starts
   * nothing. Throws the previous move's error; the next move starts from the checkpoint the
   * database last confirmed, so it also covers the batch whose move failed.
   */
  advance(acknowledged: Checkpoint): Promise<Checkpoint>;
  /** Waits for the move under way: at a clean stop, so that a successor does not re-send it. */
  settle(): Promise<void>;
}

interface Move {
  target: Checkpoint;
  /** Whether it moved: false when it was refused (checkpoint moved on, or lease lost). */
  done: Promise<boolean>;
}

export function trailingCheckpoint(
  sql: SqlExecutor,
  name: string,
  holder: string,
  start: Checkpoint,
): TrailingCheckpoint {
  /** The checkpoint as the database last confirmed it: what the next move compares with. */
  let confirmed = start;
  let underWay: Move | null = null;

  // Compare-and-set, fenced by the lease ($1 names both the checkpoint and the lease).
  async function move(from: Checkpoint, target: Checkpoint): Promise<boolean> {
    const moved = await sql.query(
      `UPDATE aos_checkpoints SET checkpoint = $3, updated_at = now()
        WHERE name = $1 AND checkpoint = $2 AND ${holdsLease('$1', '$4')}
       RETURNING checkpoint`,
      [name, from, target, holder],
    );
    return moved.length > 0;
  }

  /** Whether the move under way (if any) moved the checkpoint; throws its error. */
  async function settled(): Promise<boolean> {
    const previous = underWay;
    if (!previous) return true;
    underWay = null;
    if (!(await previous.done)) return false;
    confirmed = previous.target;
    return true;
  }

  return {
    async advance(acknowledged) {
      if (!(await settled())) {
        confirmed = (await readCheckpoint(sql, name)) ?? confirmed;
        return confirmed;
      }
      const done = move(confirmed, acknowledged);
      // Its outcome is read by the next advance or settle; until then a failure is not unhandled.
      done.catch(() => {});
      underWay = { target: acknowledged, done };
      return acknowledged;
    },
    async settle() {
      await settled();
    },
  };
}
