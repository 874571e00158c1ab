// The live projections as one checkpointed consumer: each batch read from the store is folded
// through every projection in one transaction (one state load, one statement per table, one
// state save, one commit), where twelve consumers paid twelve transactions per page. Each
// projection keeps its own checkpoint all the same, locked and moved in that transaction, so
// its effect stays exactly-once, and a projection can be rebuilt, reset or swapped in on its
// own: the group reads from the earliest of its checkpoints, and folds into each projection
// only the part of a batch past that projection's checkpoint (none when it is ahead).
// Processes running the same group take the checkpoint rows' locks in one order: the second
// waits, then finds the checkpoints moved and folds only what is past them.
//
// Catching up (full batches), the group folds the next batch while the last one commits: the
// fold is done ahead, from the states the last fold ended with, and written only if, under
// the locks, every checkpoint row is as this group's last commit left it (same checkpoint,
// same row version). Otherwise (another process, a reset, a swap moved one) the batch is
// folded again inside the transaction from the stored states, as without folding ahead.

import { parseCheckpoint } from '../domain/store/checkpoint.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { ReadAllResult, Subscription } from '../domain/store/event-store.ts';
import type { SqlStore } from '../domain/store/sql-port.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { compareCheckpoints } from './checkpoint-order.ts';
import { CONSUMER_GATHER_MS, createCheckpoints, saveCheckpoints } from './checkpointed-consumer.ts';
import {
  checkpointName,
  type EntityStates,
  type FoldedBatch,
  foldBatches,
  loadStates,
  type ProjectionPart,
  writeFolded,
} from './project-batch.ts';

/**
 * Events per batch (one transaction). Larger than the subscription's default: a catch-up or
 * rebuild pays the transaction, the state lookup and one statement per table per batch, and
 * merges the changes to one row within a batch (a run's row is written once per batch, not
 * once per event). `npm run bench -- projections`: 2,000 rebuilt ~1.6x as fast as 500.
 */
export const PROJECTION_BATCH = 2000;

export interface ProjectionGroupOptions {
  pollIntervalMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export interface ProjectionGroup {
  /** Folds one more projection from its own checkpoint on. */
  add(projection: AnyProjection): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The part of a batch read after `from` (up to `end`) that a projection whose checkpoint is
 * `at` has not folded: all of it at `from`, the events after its checkpoint's event when that
 * is inside the batch, and null when `at` is not in [from, end): behind the batch (the group
 * reads from there next) or at or past its end (nothing to fold, the checkpoint stays).
 */
export function unfoldedPart(
  events: readonly RecordedEvent[],
  from: string,
  end: string,
  at: string,
): readonly RecordedEvent[] | null {
  if (compareCheckpoints(at, from) === 0) return events;
  if (compareCheckpoints(at, from) < 0 || compareCheckpoints(at, end) >= 0) return null;
  // A checkpoint is the (transaction, position) of the last event a reader was handed.
  const { globalPosition } = parseCheckpoint(at);
  const index = events.findIndex((event) => event.globalPosition === globalPosition);
  if (index < 0)
    throw new Error(`checkpoint ${at} is inside the batch after ${from} but names none of its events`);
  return events.slice(index + 1);
}

const earliest = (checkpoints: Iterable<string>) =>
  [...checkpoints].reduce((a, b) => (compareCheckpoints(a, b) <= 0 ? a : b));

const checkpointsOf = (rows: CheckpointRows) => [...rows.values()].map((row) => row.checkpoint);

/** Each checkpoint row (by name) as a commit left it: its checkpoint and row version. */
type CheckpointRows = Map<string, { checkpoint: string; version: string }>;

interface Batch {
  events: RecordedEvent[];
  from: string;
  end: string;
}

/** A batch folded before its transaction, from `basis` (the checkpoints it assumed). */
interface FoldedAhead {
  basis: Map<string, string>;
  moved: string[];
  folded: FoldedBatch;
  generation: number;
}

export async function startProjectionGroup(
  store: SqlStore,
  projections: readonly AnyProjection[],
  options: ProjectionGroupOptions = {},
): Promise<ProjectionGroup> {
  const limit = options.batchSize ?? PROJECTION_BATCH;
  const members: AnyProjection[] = [];
  let subscription: Subscription | null = null;
  /** Set while the subscription stops (for good, or to take a member in): no reading ahead. */
  let stopping = false;
  let stopped = false;
  /** Where the group has read to: the earliest checkpoint of its members. */
  let position = '0:0';
  /** The checkpoint rows as this group's last commit left them; null: not known. */
  let known: CheckpointRows | null = null;
  /**
   * What the store will hold once the commits started have committed: the checkpoints, and
   * the states of the entities the last fold touched (older ones are committed already).
   */
  let ahead: { checkpoints: Map<string, string>; states: EntityStates } | null = null;
  /** Counts the times `ahead` was set anew: a fold done ahead from an older one is stale. */
  let generation = 0;
  const forget = () => {
    known = null;
    ahead = null;
    generation++;
  };

  /** The members' parts of a batch from their checkpoints, and the checkpoints it moves. */
  const partsOf = (batch: Batch, at: (name: string) => string | undefined) => {
    const parts: ProjectionPart[] = [];
    const moved: string[] = [];
    for (const projection of members) {
      const name = checkpointName(projection);
      const checkpoint = at(name);
      if (checkpoint === undefined) throw new Error(`no checkpoint ${name}`);
      const unfolded = unfoldedPart(batch.events, batch.from, batch.end, checkpoint);
      if (!unfolded) continue;
      parts.push({ projection, events: unfolded });
      moved.push(name);
    }
    return { parts, moved };
  };

  /** Folds a batch ahead of its transaction, from the states the last fold ended with. */
  const foldAhead = async (batch: Batch): Promise<FoldedAhead | null> => {
    const from = ahead;
    if (!from) return null;
    const basis = new Map(from.checkpoints);
    const { parts, moved } = partsOf(batch, (name) => basis.get(name));
    const folded = await foldBatches(
      parts,
      async (keys, rows) => {
        const found: EntityStates = new Map();
        const missing = new Map<string, string[]>();
        for (const [name, wanted] of keys) {
          const last = from.states.get(name);
          found.set(
            name,
            new Map(wanted.filter((key) => last?.has(key)).map((key) => [key, last!.get(key)])),
          );
          missing.set(
            name,
            wanted.filter((key) => !last?.has(key)),
          );
        }
        // Entities the last fold did not touch: their committed states are current.
        for (const [name, states] of await loadStates(store.client)(missing, rows)) {
          for (const [key, state] of states) found.get(name)!.set(key, state);
        }
        return found;
      },
      { ahead: true },
    );
    for (const name of moved) from.checkpoints.set(name, batch.end);
    from.states = folded.states;
    return { basis, moved, folded, generation };
  };

  /**
   * Commits a batch: the fold done ahead if the checkpoint rows are as `before` (this group's
   * last commit) left them and as the fold assumed, else a fold from the stored states.
   * Answers the rows as it leaves them, and the states of a fold done here (null if ahead).
   */
  const commit = (batch: Batch, folded: FoldedAhead | null, before: CheckpointRows | null) =>
    store.client.transaction(async (tx) => {
      const rows = await tx.query<{ name: string; checkpoint: string; version: string }>(
        `SELECT name, checkpoint, xmin::text AS version FROM aos_checkpoints
          WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
        [members.map(checkpointName)],
      );
      const at: CheckpointRows = new Map(rows.map((row) => [row.name, row]));
      const unchanged =
        folded !== null &&
        before !== null &&
        [...folded.basis].every(
          ([name, checkpoint]) =>
            at.get(name)?.checkpoint === checkpoint && at.get(name)?.version === before.get(name)?.version,
        );
      let moved = folded?.moved ?? [];
      let states: EntityStates | null = null;
      if (unchanged) {
        await writeFolded(tx, folded.folded);
      } else {
        const part = partsOf(batch, (name) => at.get(name)?.checkpoint);
        const here = await foldBatches(part.parts, loadStates(tx));
        await writeFolded(tx, here);
        moved = part.moved;
        states = here.states;
      }
      if (moved.length > 0) {
        for (const [name, version] of await saveCheckpoints(tx, moved, batch.end)) {
          at.set(name, { checkpoint: batch.end, version });
        }
      }
      return { rows: at, states };
    });

  /**
   * Folds a batch and, while batches come back full, the ones after it: each next batch is
   * read and folded while the last one commits. Answers where to read next.
   */
  type Committed = Awaited<ReturnType<typeof commit>>;
  /** Takes in what a commit left: the rows, and the states when it folded from the stored ones. */
  const settle = ({ rows, states }: Committed) => {
    known = rows;
    if (!states) return;
    ahead = { checkpoints: new Map([...rows].map(([name, row]) => [name, row.checkpoint])), states };
    generation++;
  };

  const fold = async (events: RecordedEvent[], end: string): Promise<string> => {
    const start = position;
    let batch: Batch | null = { events, from: start, end };
    let committing: Promise<Committed> | null = null;
    try {
      while (batch) {
        const next: Promise<ReadAllResult | null> =
          batch.events.length === limit && !stopping
            ? store.readAll({ after: batch.end, limit })
            : Promise.resolve(null);
        next.catch(() => {});
        let folded = await foldAhead(batch);
        if (committing) {
          settle(await committing);
          committing = null;
          // A member behind this batch (reset meanwhile): read again from its checkpoint.
          if (compareCheckpoints(earliest(checkpointsOf(known!)), batch.from) < 0) break;
          if (folded?.generation !== generation) folded = await foldAhead(batch);
        }
        committing = commit(batch, folded, known);
        const read: ReadAllResult | null = await next;
        batch = read?.events.length ? { events: read.events, from: batch.end, end: read.checkpoint } : null;
      }
      if (committing) settle(await committing);
    } catch (error) {
      await committing?.catch(() => {});
      forget();
      position = start;
      throw error;
    }
    position = earliest(checkpointsOf(known!));
    return position;
  };

  const start = async () => {
    forget();
    stopping = false;
    if (members.length === 0) return;
    const names = members.map(checkpointName);
    await createCheckpoints(store.client, names);
    const rows = await store.client.query<{ checkpoint: string }>(
      'SELECT checkpoint FROM aos_checkpoints WHERE name = ANY($1::text[])',
      [names],
    );
    position = earliest(rows.map((row) => row.checkpoint));
    subscription = store.subscribe(fold, {
      after: position,
      // A batch is a transaction of several statements: under load, one per CONSUMER_GATHER_MS
      // with what arrived meanwhile, not one per append (read models lag by at most that).
      gatherMs: CONSUMER_GATHER_MS,
      ...options,
      batchSize: limit,
    });
  };

  /** Membership changes and stopping, one at a time. */
  let changes = Promise.resolve();
  const change = (step: () => Promise<void>) => {
    const next = changes.then(step);
    changes = next.catch(() => {});
    return next;
  };

  members.push(...projections);
  await change(start);
  return {
    add: (projection) =>
      change(async () => {
        if (stopped || members.some((member) => member.name === projection.name)) return;
        stopping = true;
        await subscription?.stop();
        members.push(projection);
        await start();
      }),
    stop: () =>
      change(async () => {
        stopped = true;
        stopping = true;
        await subscription?.stop();
      }),
  };
}
