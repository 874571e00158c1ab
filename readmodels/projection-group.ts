// The live projections as one checkpointed consumer: each batch read from the store is folded
// through every projection in one transaction (one state load, one statement per table, one
// state save, one commit), where twelve consumers paid twelve transactions per page. Each
// projection keeps its own checkpoint all the same, locked and moved in that transaction, so
// its effect stays exactly-once, and a projection can be rebuilt, reset or swapped in on its
// own: the group reads from the earliest of its checkpoints, and folds into each projection
// only the part of a batch past that projection's checkpoint (none when it is ahead).
// Processes running the same group take the checkpoint rows' locks in one order: the second
// waits, then finds the checkpoints moved and folds only what is past them.

import { parseCheckpoint } from '../domain/store/checkpoint.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { Subscription } from '../domain/store/event-store.ts';
import type { SqlStore } from '../domain/store/sql-port.ts';
import type { AnyProjection } from '../projections/projection.ts';
import { compareCheckpoints } from './checkpoint-order.ts';
import { CONSUMER_GATHER_MS, createCheckpoints, saveCheckpoints } from './checkpointed-consumer.ts';
import { checkpointName, type ProjectionPart, projectBatches } from './project-batch.ts';

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

export async function startProjectionGroup(
  store: SqlStore,
  projections: readonly AnyProjection[],
  options: ProjectionGroupOptions = {},
): Promise<ProjectionGroup> {
  const members: AnyProjection[] = [];
  let subscription: Subscription | null = null;
  /** Where the group has read to: the earliest checkpoint of its members. */
  let position = '0:0';

  const fold = async (events: RecordedEvent[], end: string): Promise<string> => {
    const names = members.map(checkpointName);
    const from = position;
    const at = await store.client.transaction(async (tx) => {
      const rows = await tx.query<{ name: string; checkpoint: string }>(
        'SELECT name, checkpoint FROM aos_checkpoints WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE',
        [names],
      );
      const at = new Map(rows.map((row) => [row.name, row.checkpoint]));
      const parts: ProjectionPart[] = [];
      for (const projection of members) {
        const name = checkpointName(projection);
        const checkpoint = at.get(name);
        if (checkpoint === undefined) throw new Error(`no checkpoint ${name}`);
        const unfolded = unfoldedPart(events, from, end, checkpoint);
        if (!unfolded) continue;
        parts.push({ projection, events: unfolded });
        at.set(name, end);
      }
      await projectBatches(tx, parts);
      await saveCheckpoints(
        tx,
        parts.map((part) => checkpointName(part.projection)),
        end,
      );
      return at;
    });
    position = earliest(at.values());
    return position;
  };

  const start = async () => {
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
    });
  };

  /** Membership changes and stopping, one at a time. */
  let changes = Promise.resolve();
  const change = (step: () => Promise<void>) => {
    const next = changes.then(step);
    changes = next.catch(() => {});
    return next;
  };

  let stopped = false;
  members.push(...projections);
  await change(start);
  return {
    add: (projection) =>
      change(async () => {
        if (stopped || members.some((member) => member.name === projection.name)) return;
        await subscription?.stop();
        members.push(projection);
        await start();
      }),
    stop: () =>
      change(async () => {
        stopped = true;
        await subscription?.stop();
      }),
  };
}
