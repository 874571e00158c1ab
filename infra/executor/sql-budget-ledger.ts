// The budget ledger on SQL. Each command is decided on the run's own ledger stream for the
// day (small: two events per attempt of that run) and appended in one transaction with the
// move of the day's counters (`aos_budget_days`, migration 021). A reservation moves them only
// through a conditional upsert — `reserved + settled + amount <= limit`, the rule of
// `dayLimitRefusal` — so concurrent reservations of one tenant never overspend and never
// conflict: they queue briefly on the day's row lock instead of failing a version check on
// a shared stream and retrying. A refusal rolls the transaction back and writes nothing.
import type {
  AlongsideStatement,
  BudgetLedger,
  LedgerTarget,
  LedgerTransaction,
} from '../../commands/budget-ledger.ts';
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
import { ConcurrencyError } from '../../domain/store/store-errors.ts';
import { bufferedAppends } from '../store/buffered-appends.ts';
import { DEFAULT_GROUPS, type GroupOptions, groupedSends } from '../store/grouped-sends.ts';
import {
  type AppendArguments,
  type AppendedRow,
  alongsideCtes,
  appendArgumentsJson,
  jsonWithArraysOfJson,
  type SqlEventStore,
} from '../store/sql-event-store.ts';

/** Run ledgers remembered as last written here, so the next command of the run reads nothing. */
const MAX_CACHED_LEDGERS = 1000;

/** One step transition as aos_transitions takes it, with the statements committed alongside. */
interface Transition {
  fenceStream: string | null;
  fenceVersion: number | null;
  appends: AppendArguments[];
  moves: ReturnType<typeof dayMoveArguments>[];
  alongside: AlongsideStatement[];
}

/** How a ledger transaction is sent: one statement, or (after `NotMerged`) command by command. */
type Mode = 'one_statement' | 'per_command';

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

/** aos_move_budget_day's arguments (migration 130) for the moves of `events`, by name. */
function dayMoveArguments(dayId: string, events: readonly BudgetEvent[]) {
  const moves = scopeMovesOf(events);
  return {
    dayId,
    scopes: moves.map((m) => m.scope),
    reserved: moves.map((m) => m.reserved),
    settled: moves.map((m) => m.settled),
    caps: moves.map((m) => m.cap),
  };
}

/**
 * Moves the day's counters by one event of a run ledger; a reservation the day has no room for
 * throws, saying why.
 */
async function moveDay(tx: SqlExecutor, dayId: string, streamId: string, events: readonly BudgetEvent[]) {
  const move = dayMoveArguments(dayId, events);
  const [row] = await tx.query<{ moved: number }>(
    'SELECT aos_move_budget_day($1, $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS moved',
    [move.dayId, move.scopes, move.reserved, move.settled, move.caps],
  );
  if (row!.moved === move.scopes.length) return;
  const [event] = events;
  // Not every scope had room: say why, from the totals as they stand (the rule is the domain's).
  if (event?.type !== 'BudgetReserved') throw new Error(`budget day ${dayId} did not move`);
  const refusal = dayLimitRefusal(reserveOf(event.data), await dayTotals(tx, dayId, move.scopes));
  // Room again by now (a release committed in between): decide anew.
  throw refusal ?? new DayMovedMeanwhile(streamId);
}

/** aos_transitions' refusals (migrations 130, 180), and an event id taken meanwhile. */
function refusedTransition(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'AOS01' || code === 'AOS02' || code === 'AOS03' || code === '23505';
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

/** A transition as aos_transitions reads it from JSON. */
function transitionJson({ fenceStream, fenceVersion, appends, moves }: Transition): string {
  return jsonWithArraysOfJson(
    { fenceStream, fenceVersion, moves },
    { appends: appends.map(appendArgumentsJson) },
  );
}

/**
 * Transitions in one statement: the group's items, and every item's statements alongside as
 * CTEs of it (they commit with the group, and a group that raises takes them back with it).
 * Answers each item's rows.
 */
async function sendTransitions(store: SqlEventStore, transitions: Transition[]): Promise<AppendedRow[][]> {
  const params: unknown[] = [`[${transitions.map(transitionJson).join(',')}]`];
  const ctes = alongsideCtes(
    params,
    transitions.flatMap((t) => t.alongside),
  );
  const rows = await store.client.query<AppendedRow & { item: number }>(
    `WITH transition AS (SELECT * FROM aos_transitions($1::jsonb))${ctes}
     SELECT * FROM transition`,
    params,
  );
  return transitions.map((_, i) => rows.filter((row) => row.item === i + 1));
}

export function createSqlBudgetLedger(
  store: SqlEventStore,
  groups: GroupOptions = DEFAULT_GROUPS,
): BudgetLedger {
  const known = new Map<string, Loaded<LedgerState>>();
  const sendTransition = groupedSends((items: Transition[]) => sendTransitions(store, items), groups);

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

  /**
   * One transaction: the ledger's events and the day's moves, then the work's own appends —
   * sent as one statement, or (`per_command`, after `NotMerged`) in a transaction of an append
   * per command and a move per event.
   */
  async function together<T>(work: (tx: LedgerTransaction) => Promise<T>, mode: Mode): Promise<T> {
    const written: [string, Loaded<LedgerState>][] = [];
    const counts: { metrics: CommandMetrics; type: string; outcome: CommandOutcome }[] = [];
    const counted = (metrics: CommandMetrics): CommandMetrics => ({
      ...metrics,
      commandHandled: (type, outcome) => counts.push({ metrics, type, outcome }),
    });
    let result: T;
    try {
      result = await (mode === 'one_statement' ? inOneStatement : perCommand)(written, counted, work);
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

  /** The work's context: its ledger commands decided on `on`, appended by `appendLedger`. */
  function workContext(
    written: [string, Loaded<LedgerState>][],
    counted: LedgerTransaction['counted'],
    on: EventStore,
    appendLedger: AppendLedger,
    fence: LedgerTransaction['fence'],
    alongside: AlongsideStatement[],
  ): LedgerTransaction {
    return {
      alongside: (statement) => alongside.push(statement),
      ledger: {
        apply: async (command, target, context) => {
          const deferred = context.metrics ? { ...context, metrics: counted(context.metrics) } : context;
          written.push(await decide(command, target, deferred, on, appendLedger, written));
        },
      },
      store: on,
      fence,
      counted,
    };
  }

  /**
   * The whole transaction as one statement (aos_transitions, migration 180, grouped with other
   * runs' transitions ready at the same time): the work's appends
   * are held, one per stream, its fence is taken at the statement's start on the version the work
   * assumed, and each ledger's events move its day. Whatever cannot be done so — a read of a
   * stream written in the transaction, an exclusive fence, a head not known here, the statement's
   * refusal — throws `NotMerged`: the caller does it again command by command.
   */
  async function inOneStatement<T>(
    written: [string, Loaded<LedgerState>][],
    counted: LedgerTransaction['counted'],
    work: (tx: LedgerTransaction) => Promise<T>,
  ): Promise<T> {
    const buffered = bufferedAppends(store, () => new NotMerged());
    const alongside: AlongsideStatement[] = [];
    let fenced: { streamId: string; version: number } | undefined;
    const done = await work(
      workContext(
        written,
        counted,
        buffered.store,
        (_dayId, streamId, events, options) => buffered.store.append(streamId, events, options),
        async (streamId, mode, known) => {
          const again = fenced !== undefined && fenced.streamId === streamId && fenced.version === known;
          if (mode === 'exclusive' || known === undefined || (fenced !== undefined && !again))
            throw new NotMerged();
          fenced = { streamId, version: known };
          return known;
        },
        alongside,
      ),
    );
    const held = buffered.held();
    const moves = held
      .filter((h) => isLedgerStream(h.streamId))
      .map((h) => dayMoveArguments(ledgerDayId(h.streamId), h.events as unknown as BudgetEvent[]));
    const appended = await store.appendWithin(held, (appends) =>
      sendTransition({
        fenceStream: fenced?.streamId ?? null,
        fenceVersion: fenced?.version ?? null,
        appends,
        moves,
        alongside,
      }).catch((error) => {
        throw refusedTransition(error) ? new NotMerged() : error;
      }),
    );
    if (!appended) throw new NotMerged();
    return done;
  }

  /** The transaction command by command: an append per command, a move per event, the fence when asked. */
  function perCommand<T>(
    written: [string, Loaded<LedgerState>][],
    counted: LedgerTransaction['counted'],
    work: (tx: LedgerTransaction) => Promise<T>,
  ): Promise<T> {
    return store.client.transaction(async (tx) => {
      const moves: { dayId: string; streamId: string; events: BudgetEvent[] }[] = [];
      // Reads and appends through the transaction; subscribers are woken after its commit.
      const inTransaction: EventStore = {
        ...store,
        readStream: (streamId, options) => store.readStreamWith(tx, streamId, options),
        append: (streamId, events, options) =>
          store.appendWith(tx, streamId, events, { ...options, wake: 'after_commit' }),
      };
      const appendLedger: AppendLedger = async (dayId, streamId, events, options) => {
        const appended = await inTransaction.append(streamId, events, options);
        // Recorded before (a command decided again): the day moved when they were recorded.
        if (!appended.duplicate) moves.push({ dayId, streamId, events: events as unknown as BudgetEvent[] });
        return appended;
      };
      const alongside: AlongsideStatement[] = [];
      const done = await work(
        workContext(
          written,
          counted,
          inTransaction,
          appendLedger,
          async (streamId, mode) => {
            const [row] = await tx.query<{ version: string }>('SELECT aos_fence($1, $2)::text AS version', [
              streamId,
              mode === 'exclusive',
            ]);
            return Number(row!.version);
          },
          alongside,
        ),
      );
      for (const statement of alongside) {
        const { sql, params } = statement(1);
        await tx.query(sql, params);
      }
      // Last: the day's row is locked only from here to the commit.
      for (const { dayId, streamId, events } of moves)
        for (const event of events) await moveDay(tx, dayId, streamId, [event]);
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
      let mode: Mode = 'one_statement';
      for (let attempt = 0; ; attempt++) {
        try {
          return await together(work, mode);
        } catch (error) {
          if (mode === 'one_statement' && error instanceof NotMerged) mode = 'per_command';
          else if (!(error instanceof DayMovedMeanwhile) || attempt >= MAX_DAY_RETRIES) throw error;
        }
      }
    },
  };
}
