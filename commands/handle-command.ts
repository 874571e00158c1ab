// Load a stream, decide, append with the expected version — the one way every command
// changes state. A concurrent writer makes the append fail with ConcurrencyError; the
// handler then reloads and decides again, a bounded number of times. Event ids derive
// from the command id, so a command retried after a lost answer finds its own events
// and returns them instead of acting twice.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Decider, DomainEvent } from '../domain/decider.ts';
import { isDomainError } from '../domain/domain-error.ts';
import { upcast, validateNewEvent } from '../domain/events/catalog.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import type { AppendResult, EventMetadata, NewEvent, RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { ConcurrencyError, EventIdConflictError } from '../domain/store/store-errors.ts';
import type { CommandMetrics, CommandOutcome } from './metrics.ts';

/** A stream folded up to `version` (-1: empty). */
export interface Loaded<State> {
  state: State;
  version: number;
}

export interface CommandContext {
  /** Unique per command; a retry of the same command must reuse it. */
  commandId: string;
  metadata: EventMetadata;
  /** Counts the command by type and outcome. */
  metrics?: CommandMetrics;
}

/**
 * Writes a command's events with the expected version; `store.append` by default. An adapter
 * may commit more with them in one transaction (the budget ledger moves its day counter).
 */
export type AppendDecided = (
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: number | 'no_stream' },
) => Promise<AppendResult>;

export interface Handled<State, Event> extends Loaded<State> {
  /** The events this command recorded (now or, for a retried command, earlier). */
  events: Event[];
  /** True when the command had been applied before: nothing new was written. */
  alreadyApplied: boolean;
  /** Global position of the last event of the command, when it recorded any. */
  lastPosition?: string;
}

const MAX_CONFLICT_RETRIES = 20;
const PAGE = 10_000;

/** The stream's events from position `from` (0: all of them) to its end. */
export async function readWholeStream(
  store: EventStore,
  streamId: string,
  from = 0,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readStream(streamId, { from: from + events.length, limit: PAGE });
    events.push(...page);
    if (page.length < PAGE) return events;
  }
}

export function toDomainEvent<Event extends DomainEvent>(recorded: RecordedEvent): Event {
  return { type: recorded.type, data: upcast(recorded.type, recorded.schemaVersion, recorded.data) } as Event;
}

/**
 * Folds a stream, or brings `known` (the stream as folded up to its version) up to date by
 * reading only what was appended since: a long stream such as a tenant's budget day is then
 * not re-read and re-folded on every command. `recorded` holds the events read now.
 */
export async function loadStream<State, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<State, unknown, Event>, 'initialState' | 'evolve'>,
  known?: Loaded<State>,
): Promise<Loaded<State> & { recorded: RecordedEvent[]; events: Event[] }> {
  const from = known ? known.version + 1 : 0;
  const recorded = await readWholeStream(store, streamId, from);
  // The upcast events too: a caller that looks at them need not upcast the stream again.
  const events = recorded.map((e) => toDomainEvent<Event>(e));
  const state = events.reduce(decider.evolve, known ? known.state : decider.initialState());
  return { state, version: from + recorded.length - 1, recorded, events };
}

/** What a failed command counts as: a domain refusal's code, a lost race, or an error. */
export function failureOutcome(error: unknown): CommandOutcome {
  if (error instanceof ConcurrencyError || error instanceof EventIdConflictError) return 'conflict';
  if (isDomainError(error)) return error.code;
  return 'error';
}

export async function handleCommand<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command,
  context: CommandContext,
  known?: Loaded<State>,
  append?: AppendDecided,
): Promise<Handled<State, Event>> {
  const type = String((command as { type?: unknown }).type ?? 'unknown');
  try {
    const handled = await handleCommandOnce(store, streamId, decider, command, context, known, append);
    const outcome = handled.alreadyApplied ? 'duplicate' : handled.events.length === 0 ? 'noop' : 'recorded';
    context.metrics?.commandHandled(type, outcome);
    return handled;
  } catch (error) {
    context.metrics?.commandHandled(type, failureOutcome(error));
    throw error;
  }
}

async function handleCommandOnce<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  command: Command,
  context: CommandContext,
  /** The stream as the caller already holds it (e.g. an executor that owns the run); skips a read. */
  known: Loaded<State> | undefined,
  append: AppendDecided = (id, events, options) => store.append(id, events, options),
): Promise<Handled<State, Event>> {
  let current = known;
  let stale: Loaded<State> | undefined;
  for (let attempt = 0; ; attempt++) {
    if (!current) {
      // After a conflict only what others appended since is read: the events before were
      // checked for this command already (or vouched for by the caller's `known`).
      const loaded = await loadStream(store, streamId, decider, stale);
      const earlier = loaded.recorded.filter((e) => e.metadata.commandId === context.commandId);
      if (earlier.length > 0) {
        return {
          ...loaded,
          events: earlier.map((e) => toDomainEvent<Event>(e)),
          alreadyApplied: true,
          lastPosition: earlier.at(-1)!.globalPosition,
        };
      }
      current = loaded;
    }
    const events = decider.decide(command, current.state);
    if (events.length === 0) return { ...current, events, alreadyApplied: false };
    // One metadata object for all the decision's events: the store checks it once per append.
    const metadata = { ...context.metadata, commandId: context.commandId };
    const newEvents = events.map((event, i) => {
      const valid = validateNewEvent(event);
      return {
        eventId: deterministicUuid('event', context.commandId, streamId, i),
        type: valid.type,
        schemaVersion: valid.schemaVersion,
        data: valid.data,
        metadata,
      };
    });
    try {
      const result = await append(streamId, newEvents, {
        expectedVersion: current.version < 0 ? 'no_stream' : current.version,
      });
      const state = events.reduce(decider.evolve, current.state);
      return {
        state,
        version: result.streamVersion,
        events,
        alreadyApplied: result.duplicate,
        ...(result.positions.length > 0 ? { lastPosition: result.positions.at(-1)!.globalPosition } : {}),
      };
    } catch (error) {
      const retryable = error instanceof ConcurrencyError || error instanceof EventIdConflictError;
      if (!retryable || attempt >= MAX_CONFLICT_RETRIES) throw error;
      // An id conflict may be this very command recorded meanwhile: read the stream anew.
      stale = error instanceof ConcurrencyError ? current : undefined;
      current = undefined;
      // Writers that collided would collide again in lock step; spread them out.
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
  }
}
