// The budget ledger on SQL. Each command is decided on the run's own ledger stream for the
// day (small: two events per attempt of that run) and appended in one transaction with the
// move of the day's counters (`aos_budget_days`, migration 021). A reservation moves them only
// through a conditional upsert — `reserved + settled + amount <= limit`, the rule of
// `dayLimitRefusal` — so concurrent reservations of one tenant never overspend and never
// conflict: they queue briefly on the day's row lock instead of failing a version check on
// a shared stream and retrying. A refusal rolls the transaction back and writes nothing.
import type { BudgetLedger, LedgerTarget, LedgerTransaction } from '../../commands/budget-ledger.ts';
import {
  type CommandContext,
  failureOutcome,
  type Handled,
  handleCommand,
  type Loaded,
  loadStream,
  readWholeStream,
  toDomainEvent,
} from '../../commands/handle-command.ts';
import type { CommandMetrics, CommandOutcome } from '../../commands/metrics.ts';
import {
  budgetLedgerDecider,
  type DayTotals,
  dayLimitRefusal,
  evolveLedger,
  initialDayTotals,
  initialLedgerState,
  isLedgerStream,
  type LedgerCommand,
  type LedgerState,
  ledgerDayId,
  ledgerDelta,
  type Release,
  type Reservation,
  type Reserve,
  runLedgerStreamId,
  type Settle,
} from '../../domain/budget/ledger.ts';
import { isDomainError } from '../../domain/domain-error.ts';
import type { BudgetEvent, BudgetEventData } from '../../domain/events/budget-events.ts';
import type { AppendResult, ExpectedVersion, NewEvent } from '../../domain/store/envelope.ts';
import type { EventStore } from '../../domain/store/event-store.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { ConcurrencyError, EventIdConflictError } from '../../domain/store/store-errors.ts';
import { bufferedAppends } from '../store/buffered-appends.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';

/** Run ledgers remembered as last written here, so the next command of the run reads nothing. */
const MAX_CACHED_LEDGERS = 1000;

/** One scope's move: its deltas, and the cap a reservation in it must stay within. */
interface ScopeMove {
  scope: string;
  reserved: number;
  settled: number;
  cap: number | null;
}

/**
 * What events move, per scope, in the one order every statement locks them: the day, then
 * models in order of first appearance. A close and a reservation in one move are checked
 * together: what the day holds after both must stay within the reservation's caps.
 */
function scopeMovesOf(events: readonly BudgetEvent[]): ScopeMove[] {
  const moves = new Map<string, ScopeMove>();
  const move = (scope: string, reserved: number, settled: number, cap: number | null) => {
    const current = moves.get(scope) ?? { scope, reserved: 0, settled: 0, cap: null };
    moves.set(scope, {
      scope,
      reserved: current.reserved + reserved,
      settled: current.settled + settled,
      cap: cap ?? current.cap,
    });
  };
  for (const event of events) {
    const { reserved, settled, model } = ledgerDelta(event);
    const reservation = event.type === 'BudgetReserved' ? event.data : undefined;
    move('', reserved, settled, reservation?.limitMicros ?? null);
    if (model !== undefined) move(model, reserved, settled, reservation?.modelCapMicros ?? null);
  }
  // The day first: every transaction locks its rows in the same order.
  return [...moves.values()].sort((a, b) => (a.scope === '' ? -1 : b.scope === '' ? 1 : 0));
}

async function dayTotals(tx: SqlExecutor, dayId: string, scopes: string[]): Promise<DayTotals> {
  const rows = await tx.query<{ scope: string; reserved: string; settled: string }>(
    `SELECT scope, reserved_micros::text AS reserved, settled_micros::text AS settled
       FROM aos_budget_days WHERE day_id = $1 AND scope = ANY($2::text[])`,
    [dayId, scopes],
  );
  const totals: DayTotals = { ...initialDayTotals, committedByModel: {} };
  for (const row of rows) {
    if (row.scope === '') {
      totals.reservedMicros = Number(row.reserved);
      totals.settledMicros = Number(row.settled);
    } else totals.committedByModel[row.scope] = Number(row.reserved) + Number(row.settled);
  }
  return totals;
}

function reserveOf(data: BudgetEventData<'BudgetReserved'>): Reserve {
  return {
    type: 'Reserve',
    reservationId: data.reservationId,
    runId: data.runId,
    amountMicros: data.amountMicros,
    limitMicros: data.limitMicros,
    ...(data.model === undefined ? {} : { model: data.model }),
    ...(data.model === undefined || data.modelCapMicros === undefined
      ? {}
      : { modelCaps: { [data.model]: data.modelCapMicros } }),
  };
}

/**
 * Moves the day's counters by events of one run ledger; a reservation the day has no room
 * for throws. Several events (a close and the next reservation) move in one statement; refused,
 * they throw `NotMerged` and the transaction is done again an event at a time, which
 * says exactly why.
 */
async function moveDay(tx: SqlExecutor, dayId: string, streamId: string, events: readonly BudgetEvent[]) {
  const moves = scopeMovesOf(events);
  const moved = await tx.query(
    `INSERT INTO aos_budget_days AS d (day_id, scope, reserved_micros, settled_micros, limit_micros)
     SELECT $1, s.scope, s.reserved, s.settled, s.cap
       FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY
            AS s(scope, reserved, settled, cap, n)
      WHERE s.cap IS NULL OR s.reserved + s.settled <= s.cap
      ORDER BY s.n
     ON CONFLICT (day_id, scope) DO UPDATE
        SET reserved_micros = d.reserved_micros + EXCLUDED.reserved_micros,
            settled_micros = d.settled_micros + EXCLUDED.settled_micros,
            limit_micros = coalesce(EXCLUDED.limit_micros, d.limit_micros)
      WHERE EXCLUDED.limit_micros IS NULL
         OR d.reserved_micros + d.settled_micros + EXCLUDED.reserved_micros + EXCLUDED.settled_micros
            <= EXCLUDED.limit_micros
     RETURNING d.scope`,
    [
      dayId,
      moves.map((m) => m.scope),
      moves.map((m) => m.reserved),
      moves.map((m) => m.settled),
      moves.map((m) => m.cap),
    ],
  );
  if (moved.length === moves.length) return;
  if (events.length > 1) throw new NotMerged();
  const [event] = events;
  // Not every scope had room: say why, from the totals as they stand (the rule is the domain's).
  if (event?.type !== 'BudgetReserved') throw new Error(`budget day ${dayId} did not move`);
  const refusal = dayLimitRefusal(
    reserveOf(event.data),
    await dayTotals(
      tx,
      dayId,
      moves.map((m) => m.scope),
    ),
  );
  // Room again by now (a release committed in between): decide anew.
  throw refusal ?? new DayMovedMeanwhile(streamId);
}

/**
 * A transaction's appends or day moves, made together, could not be (a refused merged move, a
 * concurrent writer, a batch recorded before): the transaction is done again command by command.
 */
class NotMerged extends Error {
  constructor() {
    super('the merged appends or move could not be made: doing them one by one');
  }
}

/** The day's row refused a reservation, then showed room: a close committed in between. */
class DayMovedMeanwhile extends ConcurrencyError {
  constructor(streamId: string) {
    super(streamId, 'any', -1);
  }
}

/** How many times a transaction is redone after its reservation met a day that moved meanwhile. */
const MAX_DAY_RETRIES = 5;

const emptyLedger: Loaded<LedgerState> = { state: budgetLedgerDecider.initialState(), version: -1 };

/** Carries a duplicate append's result out of the transaction it rolls back. */
class AlreadyRecorded extends Error {
  constructor(readonly result: AppendResult) {
    super('already recorded');
  }
}

/**
 * The events and the day's move in one transaction. Events recorded before (a command decided
 * again on a state that did not show them yet) moved the day when they were recorded: the
 * append reports them as a duplicate, and the move is rolled back.
 */
async function appendMovingDay(
  store: SqlEventStore,
  dayId: string,
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: ExpectedVersion },
): Promise<AppendResult> {
  try {
    const appended = await store.client.transaction(async (tx) => {
      for (const event of events) await moveDay(tx, dayId, streamId, [event as unknown as BudgetEvent]);
      const result = await store.appendWith(tx, streamId, events, { ...options, wake: 'after_commit' });
      if (result.duplicate) throw new AlreadyRecorded(result);
      return result;
    });
    store.wakeSubscribers();
    return appended;
  } catch (error) {
    if (error instanceof AlreadyRecorded) return error.result;
    throw error;
  }
}

/** A refusal the ledger's decider makes (not a store failure, not the day's limit). */
function isRefusal(error: unknown): boolean {
  return isDomainError(error) && error.code !== 'BUDGET_EXCEEDED';
}

/**
 * A reservation made in a day recorded as one stream (`budget-<tenant>-<day>`, before run
 * ledgers): 'recorded' when this very command closed it there, else the reservation as that
 * stream has it (undefined: not there either). Only the reservation's own events are folded.
 */
async function reservationOfDayStream(
  store: EventStore,
  dayId: string,
  reservationId: string,
  commandId: string,
): Promise<'recorded' | Reservation | undefined> {
  const events = (await readWholeStream(store, dayId)).filter(
    (e) => (e.data as { reservationId?: unknown }).reservationId === reservationId,
  );
  if (events.some((e) => e.metadata.commandId === commandId)) return 'recorded';
  const folded = events.map((e) => toDomainEvent<BudgetEvent>(e)).reduce(evolveLedger, initialLedgerState);
  return folded.reservations[reservationId];
}

/** Appends a run ledger's decided events: alone (its own transaction) or in the caller's. */
type AppendLedger = (
  dayId: string,
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: ExpectedVersion },
) => Promise<AppendResult>;

export function createSqlBudgetLedger(store: SqlEventStore): BudgetLedger {
  const known = new Map<string, Loaded<LedgerState>>();

  function remember(streamId: string, ledger: Loaded<LedgerState>) {
    // Concurrent commands may finish out of order: keep the newest.
    if ((known.get(streamId)?.version ?? -1) >= ledger.version) return;
    known.delete(streamId);
    if (known.size >= MAX_CACHED_LEDGERS) known.delete(known.keys().next().value!);
    known.set(streamId, ledger);
  }

  /**
   * Decides the command on its run's ledger; answers the ledger as it stands after it. `on`
   * reads (in a transaction: through it, never beside it).
   */
  async function decide(
    command: LedgerCommand,
    target: LedgerTarget,
    context: CommandContext,
    on: EventStore,
    appendLedger: AppendLedger,
    /** Ledgers written earlier in the same transaction, not remembered before its commit. */
    writtenBefore: readonly [string, Loaded<LedgerState>][] = [],
  ): Promise<[string, Loaded<LedgerState>]> {
    const streamId = runLedgerStreamId(target.tenantId, target.at, target.runId);
    const dayId = ledgerDayId(streamId);
    const handle = (assumed: Loaded<LedgerState> | undefined) =>
      handleCommand(on, streamId, budgetLedgerDecider, command, context, assumed, (id, events, options) =>
        appendLedger(dayId, id, events, options),
      );
    // A run's first reservation of the day is written without reading its (new) ledger: had
    // it been written before, the append (expected: no stream) conflicts and the handler reads.
    const assumed =
      writtenBefore.findLast(([id]) => id === streamId)?.[1] ??
      known.get(streamId) ??
      (command.type === 'Reserve' ? emptyLedger : undefined);
    let handled: Handled<LedgerState, BudgetEvent>;
    try {
      handled = await handle(assumed);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      // Decided on an assumed state, the command's id was not looked for in the stream: a
      // retried command answers what it recorded then, as it does after a fresh read.
      if (assumed) handled = await handle(undefined);
      else if (command.type !== 'Reserve' && isDomainError(error) && error.code === 'NOT_FOUND') {
        const closed = await closeFromDayStream(on, command, handle, streamId, dayId, context.commandId);
        if (!closed) throw error;
        handled = closed;
      } else throw error;
    }
    return [streamId, { state: handled.state, version: handled.version }];
  }

  /**
   * A close whose reservation is not in the run's ledger: the reservation may have been made
   * before run ledgers, in the day's one stream. Closed there by this command: nothing to do.
   * Still open (made before the upgrade): closed in the run's ledger, moving the day's counters.
   */
  async function closeFromDayStream(
    on: EventStore,
    command: Settle | Release,
    handle: (assumed: Loaded<LedgerState>) => Promise<Handled<LedgerState, BudgetEvent>>,
    streamId: string,
    dayId: string,
    commandId: string,
  ): Promise<Handled<LedgerState, BudgetEvent> | undefined> {
    const reservation = await reservationOfDayStream(on, dayId, command.reservationId, commandId);
    if (reservation === undefined) return undefined;
    const ledger = await loadStream(on, streamId, budgetLedgerDecider);
    if (reservation === 'recorded') return { ...ledger, events: [], alreadyApplied: true };
    const reservations = { ...ledger.state.reservations, [reservation.reservationId]: reservation };
    return handle({ state: { ...ledger.state, reservations }, version: ledger.version });
  }

  /** One transaction: the ledger's events and the day's moves, then the work's own appends. */
  async function together<T>(work: (tx: LedgerTransaction) => Promise<T>, merged: boolean): Promise<T> {
    const written: [string, Loaded<LedgerState>][] = [];
    const counts: { metrics: CommandMetrics; type: string; outcome: CommandOutcome }[] = [];
    const counted = (metrics: CommandMetrics): CommandMetrics => ({
      ...metrics,
      commandHandled: (type, outcome) => counts.push({ metrics, type, outcome }),
    });
    let result: T;
    try {
      result = await transaction(written, counted, work, merged);
    } catch (error) {
      if (!(error instanceof NotMerged))
        for (const { metrics, type } of counts) metrics.commandHandled(type, failureOutcome(error));
      throw error;
    }
    for (const { metrics, type, outcome } of counts) metrics.commandHandled(type, outcome);
    // Remembered once committed: a rolled-back ledger must not be taken for the stream.
    for (const [streamId, ledger] of written) remember(streamId, ledger);
    store.wakeSubscribers();
    return result;
  }

  /**
   * `merged`: each stream's events in one append and each day's moves in one statement, at the
   * end; otherwise an append per command and a move per event (after `NotMerged`).
   */
  function transaction<T>(
    written: [string, Loaded<LedgerState>][],
    counted: LedgerTransaction['counted'],
    work: (tx: LedgerTransaction) => Promise<T>,
    merged: boolean,
  ): Promise<T> {
    return store.client.transaction(async (tx) => {
      const moves: { dayId: string; streamId: string; events: BudgetEvent[] }[] = [];
      const moveAfter = (streamId: string, events: readonly NewEvent[]) =>
        moves.push({ dayId: ledgerDayId(streamId), streamId, events: events as unknown as BudgetEvent[] });
      // Reads and appends through the transaction; subscribers are woken after its commit.
      const inTransaction: EventStore = {
        ...store,
        readStream: (streamId, options) => store.readStreamWith(tx, streamId, options),
        append: (streamId, events, options) =>
          store.appendWith(tx, streamId, events, { ...options, wake: 'after_commit' }),
      };
      // Merged: every stream's appends of the transaction (the ledgers' and the work's, e.g. a
      // run's whole step transition) go as one append per stream at the end; a read of a stream
      // written in the transaction includes what was written (flushed first).
      const buffered = merged ? bufferedAppends(inTransaction) : undefined;
      const inTransactionRead = buffered?.store ?? inTransaction;
      const appendLedger: AppendLedger = async (_dayId, streamId, events, options) => {
        if (buffered) return buffered.store.append(streamId, events, options);
        const appended = await inTransaction.append(streamId, events, options);
        // Recorded before (a command decided again): the day moved when they were recorded.
        if (!appended.duplicate) moveAfter(streamId, events);
        return appended;
      };
      const done = await work({
        ledger: {
          apply: async (command, target, context) => {
            const deferred = context.metrics ? { ...context, metrics: counted(context.metrics) } : context;
            written.push(await decide(command, target, deferred, inTransactionRead, appendLedger, written));
          },
        },
        store: inTransactionRead,
        fence: async (streamId, mode) => {
          const [row] = await tx.query<{ version: string }>('SELECT aos_fence($1, $2)::text AS version', [
            streamId,
            mode === 'exclusive',
          ]);
          return Number(row!.version);
        },
        counted,
      });
      if (buffered) {
        const flushed = await buffered.flush().catch((error) => {
          // Another writer appended meanwhile (a cancel of the run): each command on its own,
          // which reads what was appended and decides again.
          const conflict = error instanceof ConcurrencyError || error instanceof EventIdConflictError;
          throw conflict ? new NotMerged() : error;
        });
        for (const { streamId, events, result } of flushed) {
          // Recorded before (a command decided again): the day moved when they were recorded.
          if (isLedgerStream(streamId)) {
            if (!result.duplicate) moveAfter(streamId, events);
          } else if (result.duplicate) {
            // The work's commands were recorded before, by whoever decided them: each on its own
            // says so (alreadyApplied) to the caller, who must not act on them twice.
            throw new NotMerged();
          }
        }
      }
      // Last: the day's row is locked only from here to the commit.
      for (const { dayId, streamId, events } of moves) {
        if (merged) await moveDay(tx, dayId, streamId, events);
        else for (const event of events) await moveDay(tx, dayId, streamId, [event]);
      }
      return done;
    });
  }

  return {
    async apply(command, target, context) {
      const [streamId, ledger] = await decide(command, target, context, store, (dayId, id, events, options) =>
        appendMovingDay(store, dayId, id, events, options),
      );
      remember(streamId, ledger);
    },
    async together(work) {
      let merged = true;
      for (let attempt = 0; ; attempt++) {
        try {
          return await together(work, merged);
        } catch (error) {
          if (merged && error instanceof NotMerged) merged = false;
          else if (!(error instanceof DayMovedMeanwhile) || attempt >= MAX_DAY_RETRIES) throw error;
        }
      }
    },
  };
}
