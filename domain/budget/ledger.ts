// A tenant's budget per UTC day. A reservation holds budget for an attempt before the call;
// settling records the true spend, releasing returns the hold. Every one is an event.
//
// Where the events go: each run keeps its own ledger stream for the day,
// `budget-<tenantId>-<yyyy-mm-dd>:<runId>` (`runLedgerStreamId`), written only by the
// executor that holds the run's lease, so concurrent runs of one tenant never contend on a
// stream. The day as a whole (`budget-<tenantId>-<yyyy-mm-dd>`, `ledgerDayId`) is the sum of
// the run ledgers of that day: `DayTotals`, a fold of constant size. Exactness comes from the
// day's totals kept as a counter row that a reservation moves with a conditional update in
// the same transaction as its event (infra/executor/sql-budget-ledger.ts): the guard there is
// `dayLimitRefusal`'s inequality, so committed (settled + outstanding reservations) never
// passes the limit through a reservation. Days recorded before run ledgers existed are one
// stream holding every run's events; they fold the same way.
import { z } from 'zod';
import type { Decider } from '../decider.ts';
import { DomainError } from '../domain-error.ts';
import type { BudgetEvent, BudgetEventData } from '../events/budget-events.ts';
import { type Micros, microsSchema } from '../money.ts';

function utcDay(isoInstantOrDate: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(isoInstantOrDate)) return isoInstantOrDate;
  const ms = Date.parse(isoInstantOrDate);
  if (Number.isNaN(ms)) throw new DomainError('INVALID_INPUT', `not a date: ${isoInstantOrDate}`);
  return new Date(ms).toISOString().slice(0, 10);
}

/** `budget-<tenantId>-<yyyy-mm-dd>`, the UTC day of `isoInstantOrDate`: the day as a whole. */
export function budgetStreamId(tenantId: string, isoInstantOrDate: string): string {
  if (tenantId.length === 0) throw new DomainError('INVALID_INPUT', 'tenantId is empty');
  return `budget-${tenantId}-${utcDay(isoInstantOrDate)}`;
}

/** One run's ledger for one day: `budget-<tenantId>-<yyyy-mm-dd>:<runId>`. */
export function runLedgerStreamId(tenantId: string, isoInstantOrDate: string, runId: string): string {
  if (runId.length === 0) throw new DomainError('INVALID_INPUT', 'runId is empty');
  return `${budgetStreamId(tenantId, isoInstantOrDate)}:${runId}`;
}

const LEDGER_STREAM = /^(budget-.*-\d{4}-\d{2}-\d{2})(?::[^:]+)?$/;

/** A tenant day's ledger stream, or one run's share of it. */
export function isLedgerStream(streamId: string): boolean {
  return LEDGER_STREAM.test(streamId);
}

/** The day (`budget-<tenantId>-<day>`) a ledger stream belongs to, run ledger or whole day. */
export function ledgerDayId(streamId: string): string {
  const match = LEDGER_STREAM.exec(streamId);
  if (!match) throw new DomainError('INVALID_INPUT', `not a budget ledger stream: ${streamId}`);
  return match[1]!;
}

/** What a day (or one run's share of it) holds: constant size, whatever the day's volume. */
export interface DayTotals {
  /** Sum of reservations neither settled nor released. */
  reservedMicros: Micros;
  settledMicros: Micros;
  /** Per model: outstanding reserved + settled, for the per-model caps. */
  committedByModel: Record<string, Micros>;
}

export const initialDayTotals: DayTotals = { reservedMicros: 0, settledMicros: 0, committedByModel: {} };

export function committedMicros(totals: DayTotals): Micros {
  return totals.reservedMicros + totals.settledMicros;
}

/** How an event moves the totals: outstanding reservations, settled spend, the model's share. */
export function ledgerDelta(event: BudgetEvent): { reserved: Micros; settled: Micros; model?: string } {
  const model = event.data.model === undefined ? {} : { model: event.data.model };
  switch (event.type) {
    case 'BudgetReserved':
      return { reserved: event.data.amountMicros, settled: 0, ...model };
    case 'BudgetSettled':
      return { reserved: -event.data.reservedMicros, settled: event.data.actualMicros, ...model };
    case 'BudgetReleased':
      return { reserved: -event.data.amountMicros, settled: 0, ...model };
  }
}

/** Folds one event into the totals; no event needs any earlier one but its own reservation's. */
export function evolveDayTotals(totals: DayTotals, event: BudgetEvent): DayTotals {
  const { reserved, settled, model } = ledgerDelta(event);
  return {
    reservedMicros: totals.reservedMicros + reserved,
    settledMicros: totals.settledMicros + settled,
    committedByModel:
      model === undefined
        ? totals.committedByModel
        : { ...totals.committedByModel, [model]: (totals.committedByModel[model] ?? 0) + reserved + settled },
  };
}

export interface Reservation {
  reservationId: string;
  runId: string;
  amountMicros: Micros;
  model?: string;
  status: 'reserved' | 'settled' | 'released';
  actualMicros?: Micros;
}

/** A ledger stream folded: its reservations (one run's, in a run ledger) and its totals. */
export interface LedgerState extends DayTotals {
  reservations: Record<string, Reservation>;
}

export const initialLedgerState: LedgerState = { reservations: {}, ...initialDayTotals };

export const reserveSchema = z.strictObject({
  type: z.literal('Reserve'),
  reservationId: z.string().min(1),
  runId: z.string().min(1),
  amountMicros: microsSchema,
  model: z.string().min(1).optional(),
  /** The tenant's day limit, from its configuration. */
  limitMicros: microsSchema,
  modelCaps: z.record(z.string(), microsSchema).optional(),
});
export type Reserve = z.infer<typeof reserveSchema>;

export interface Settle {
  type: 'Settle';
  reservationId: string;
  actualMicros: Micros;
}

export interface Release {
  type: 'Release';
  reservationId: string;
}

export type LedgerCommand = Reserve | Settle | Release;

function withReservation(state: LedgerState, event: BudgetEvent, reservation: Reservation): LedgerState {
  // Only this stream's reservations are copied: a run's handful, not the day's.
  return {
    ...evolveDayTotals(state, event),
    reservations: { ...state.reservations, [reservation.reservationId]: reservation },
  };
}

export function evolveLedger(state: LedgerState, event: BudgetEvent): LedgerState {
  switch (event.type) {
    case 'BudgetReserved': {
      const { reservationId, runId, amountMicros, model } = event.data;
      const reservation: Reservation = { reservationId, runId, amountMicros, status: 'reserved' };
      if (model !== undefined) reservation.model = model;
      return withReservation(state, event, reservation);
    }
    case 'BudgetSettled': {
      const reservation = state.reservations[event.data.reservationId];
      if (!reservation) return state;
      return withReservation(state, event, {
        ...reservation,
        status: 'settled',
        actualMicros: event.data.actualMicros,
      });
    }
    case 'BudgetReleased': {
      const reservation = state.reservations[event.data.reservationId];
      if (!reservation) return state;
      return withReservation(state, event, { ...reservation, status: 'released' });
    }
  }
}

function sameReservation(existing: Reservation, command: Reserve): boolean {
  return (
    existing.runId === command.runId &&
    existing.amountMicros === command.amountMicros &&
    existing.model === command.model
  );
}

function refuse(
  scope: 'tenant_day' | 'model_cap',
  requested: Micros,
  limit: Micros,
  committed: Micros,
  model?: string,
) {
  const remaining = Math.max(0, limit - committed);
  const what = scope === 'tenant_day' ? 'day budget' : `cap for model ${model}`;
  return new DomainError(
    'BUDGET_EXCEEDED',
    `reserving ${requested} micros would pass the ${what}: ${remaining} remain`,
    {
      scope,
      requestedMicros: requested,
      remainingMicros: remaining,
      limitMicros: limit,
      ...(model === undefined ? {} : { model }),
    },
  );
}

/** The model cap a reservation is held to, if any. */
export function modelCapOf(command: Reserve): Micros | undefined {
  return command.model === undefined ? undefined : command.modelCaps?.[command.model];
}

/**
 * The day's rule: a reservation fits when the day's committed plus it stays within the limit,
 * and the model's committed plus it within the model's cap. Null when it fits, else the refusal.
 */
export function dayLimitRefusal(command: Reserve, day: DayTotals): DomainError | null {
  const committed = committedMicros(day);
  if (committed + command.amountMicros > command.limitMicros) {
    return refuse('tenant_day', command.amountMicros, command.limitMicros, committed);
  }
  const cap = modelCapOf(command);
  if (cap !== undefined) {
    const modelCommitted = day.committedByModel[command.model!] ?? 0;
    if (modelCommitted + command.amountMicros > cap) {
      return refuse('model_cap', command.amountMicros, cap, modelCommitted, command.model);
    }
  }
  return null;
}

/**
 * A reservation's event, decided on its ledger stream (idempotency, terms). Whether the day
 * has room is `dayLimitRefusal`, checked against the whole day's totals by whoever holds them
 * atomically (the counter row's guard; `decideOnDay` for a fold of the whole day).
 */
function reserve(command: Reserve, state: LedgerState): BudgetEvent[] {
  const parsed = reserveSchema.safeParse(command);
  if (!parsed.success)
    throw new DomainError('INVALID_INPUT', 'invalid reservation', { issues: parsed.error.issues });
  const existing = state.reservations[command.reservationId];
  if (existing) {
    // A retried command: the same reservation again is a no-op; a different one under the same id is a bug.
    if (sameReservation(existing, command)) return [];
    throw new DomainError('CONFLICT', `reservation ${command.reservationId} exists with other terms`);
  }
  const data: BudgetEventData<'BudgetReserved'> = {
    reservationId: command.reservationId,
    runId: command.runId,
    amountMicros: command.amountMicros,
    limitMicros: command.limitMicros,
  };
  if (command.model !== undefined) data.model = command.model;
  const cap = modelCapOf(command);
  if (cap !== undefined) data.modelCapMicros = cap;
  return [{ type: 'BudgetReserved', data }];
}

function openReservation(state: LedgerState, reservationId: string): Reservation {
  const reservation = state.reservations[reservationId];
  if (!reservation) throw new DomainError('NOT_FOUND', `no reservation ${reservationId}`);
  return reservation;
}

function alreadyClosed(reservation: Reservation, reservationId: string): DomainError {
  return new DomainError('CONFLICT', `reservation ${reservationId} is already ${reservation.status}`, {
    status: reservation.status,
  });
}

function settle(command: Settle, state: LedgerState): BudgetEvent[] {
  if (!Number.isSafeInteger(command.actualMicros) || command.actualMicros < 0) {
    throw new DomainError('INVALID_INPUT', 'actualMicros must be a non-negative integer');
  }
  const reservation = openReservation(state, command.reservationId);
  if (reservation.status === 'settled' && reservation.actualMicros === command.actualMicros) return [];
  if (reservation.status !== 'reserved') throw alreadyClosed(reservation, command.reservationId);
  const data: BudgetEventData<'BudgetSettled'> = {
    reservationId: reservation.reservationId,
    runId: reservation.runId,
    reservedMicros: reservation.amountMicros,
    actualMicros: command.actualMicros,
  };
  if (reservation.model !== undefined) data.model = reservation.model;
  return [{ type: 'BudgetSettled', data }];
}

function release(command: Release, state: LedgerState): BudgetEvent[] {
  const reservation = openReservation(state, command.reservationId);
  if (reservation.status === 'released') return [];
  if (reservation.status !== 'reserved') throw alreadyClosed(reservation, command.reservationId);
  const data: BudgetEventData<'BudgetReleased'> = {
    reservationId: reservation.reservationId,
    runId: reservation.runId,
    amountMicros: reservation.amountMicros,
  };
  if (reservation.model !== undefined) data.model = reservation.model;
  return [{ type: 'BudgetReleased', data }];
}

/** Decides a command on its ledger stream; the day's room is checked apart (see `reserve`). */
export function decideLedger(command: LedgerCommand, state: LedgerState): BudgetEvent[] {
  switch (command.type) {
    case 'Reserve':
      return reserve(command, state);
    case 'Settle':
      return settle(command, state);
    case 'Release':
      return release(command, state);
  }
}

/** Decides on a stream that holds the whole day (its totals are the day's): the limit included. */
export function decideOnDay(command: LedgerCommand, state: LedgerState): BudgetEvent[] {
  const events = decideLedger(command, state);
  if (command.type === 'Reserve' && events.length > 0) {
    const refusal = dayLimitRefusal(command, state);
    if (refusal) throw refusal;
  }
  return events;
}

/** A run's ledger for a day: the executor's decider (the day's room is the counter's guard). */
export const budgetLedgerDecider: Decider<LedgerState, LedgerCommand, BudgetEvent> = {
  initialState: () => initialLedgerState,
  evolve: evolveLedger,
  decide: decideLedger,
};

/** The whole day in one fold (tests, replay of days recorded as one stream). */
export const dayLedgerDecider = { ...budgetLedgerDecider, decide: decideOnDay };

export { decideLedger as decide, evolveLedger as evolve, initialLedgerState as initialState };
