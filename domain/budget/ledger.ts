// The tenant day ledger: one stream per tenant and UTC day. A reservation holds budget for
// an attempt before the call; settling records the true spend, releasing returns the hold.
// Because every command is decided against the stream's current state and appended with the
// expected version, concurrent runs of one tenant are serialised here and cannot overspend:
// committed (settled + outstanding reservations) never passes the limit through a Reserve.
import { z } from 'zod';
import { DomainError } from '../domain-error.ts';
import type { BudgetEvent, BudgetEventData } from '../events/budget-events.ts';
import { type Micros, microsSchema } from '../money.ts';

/** `budget-<tenantId>-<yyyy-mm-dd>`, the UTC day of `isoInstantOrDate`. */
export function budgetStreamId(tenantId: string, isoInstantOrDate: string): string {
  if (tenantId.length === 0) throw new DomainError('INVALID_INPUT', 'tenantId is empty');
  const day = /^\d{4}-\d{2}-\d{2}$/.test(isoInstantOrDate)
    ? isoInstantOrDate
    : (() => {
        const ms = Date.parse(isoInstantOrDate);
        if (Number.isNaN(ms)) throw new DomainError('INVALID_INPUT', `not a date: ${isoInstantOrDate}`);
        return new Date(ms).toISOString().slice(0, 10);
      })();
  return `budget-${tenantId}-${day}`;
}

export interface Reservation {
  reservationId: string;
  runId: string;
  amountMicros: Micros;
  model?: string;
  status: 'reserved' | 'settled' | 'released';
  actualMicros?: Micros;
}

export interface LedgerState {
  reservations: Record<string, Reservation>;
  /** Sum of reservations neither settled nor released. */
  reservedMicros: Micros;
  settledMicros: Micros;
  /** Per model: outstanding reserved + settled, for the per-model caps. */
  committedByModel: Record<string, Micros>;
}

export const initialLedgerState: LedgerState = {
  reservations: {},
  reservedMicros: 0,
  settledMicros: 0,
  committedByModel: {},
};

export function committedMicros(state: LedgerState): Micros {
  return state.reservedMicros + state.settledMicros;
}

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

function modelDelta(state: LedgerState, model: string | undefined, delta: number): Record<string, Micros> {
  if (model === undefined) return state.committedByModel;
  return { ...state.committedByModel, [model]: (state.committedByModel[model] ?? 0) + delta };
}

export function evolveLedger(state: LedgerState, event: BudgetEvent): LedgerState {
  switch (event.type) {
    case 'BudgetReserved': {
      const { reservationId, runId, amountMicros, model } = event.data;
      const reservation: Reservation = { reservationId, runId, amountMicros, status: 'reserved' };
      if (model !== undefined) reservation.model = model;
      return {
        reservations: { ...state.reservations, [reservationId]: reservation },
        reservedMicros: state.reservedMicros + amountMicros,
        settledMicros: state.settledMicros,
        committedByModel: modelDelta(state, model, amountMicros),
      };
    }
    case 'BudgetSettled': {
      const { reservationId, reservedMicros, actualMicros, model } = event.data;
      const reservation = state.reservations[reservationId];
      if (!reservation) return state;
      return {
        reservations: {
          ...state.reservations,
          [reservationId]: { ...reservation, status: 'settled', actualMicros },
        },
        reservedMicros: state.reservedMicros - reservedMicros,
        settledMicros: state.settledMicros + actualMicros,
        committedByModel: modelDelta(state, model, actualMicros - reservedMicros),
      };
    }
    case 'BudgetReleased': {
      const { reservationId, amountMicros, model } = event.data;
      const reservation = state.reservations[reservationId];
      if (!reservation) return state;
      return {
        reservations: { ...state.reservations, [reservationId]: { ...reservation, status: 'released' } },
        reservedMicros: state.reservedMicros - amountMicros,
        settledMicros: state.settledMicros,
        committedByModel: modelDelta(state, model, -amountMicros),
      };
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
  const committed = committedMicros(state);
  if (committed + command.amountMicros > command.limitMicros) {
    throw refuse('tenant_day', command.amountMicros, command.limitMicros, committed);
  }
  const cap = command.model === undefined ? undefined : command.modelCaps?.[command.model];
  if (cap !== undefined) {
    const modelCommitted = state.committedByModel[command.model!] ?? 0;
    if (modelCommitted + command.amountMicros > cap) {
      throw refuse('model_cap', command.amountMicros, cap, modelCommitted, command.model);
    }
  }
  const data: BudgetEventData<'BudgetReserved'> = {
    reservationId: command.reservationId,
    runId: command.runId,
    amountMicros: command.amountMicros,
    limitMicros: command.limitMicros,
  };
  if (command.model !== undefined) data.model = command.model;
  if (cap !== undefined) data.modelCapMicros = cap;
  return [{ type: 'BudgetReserved', data }];
}

function openReservation(state: LedgerState, reservationId: string): Reservation {
  const reservation = state.reservations[reservationId];
  if (!reservation) throw new DomainError('NOT_FOUND', `no reservation ${reservationId}`);
  return reservation;
}

function settle(command: Settle, state: LedgerState): BudgetEvent[] {
  if (!Number.isSafeInteger(command.actualMicros) || command.actualMicros < 0) {
    throw new DomainError('INVALID_INPUT', 'actualMicros must be a non-negative integer');
  }
  const reservation = openReservation(state, command.reservationId);
  if (reservation.status === 'settled' && reservation.actualMicros === command.actualMicros) return [];
  if (reservation.status !== 'reserved') {
    throw new DomainError(
      'CONFLICT',
      `reservation ${command.reservationId} is already ${reservation.status}`,
      {
        status: reservation.status,
      },
    );
  }
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
  if (reservation.status !== 'reserved') {
    throw new DomainError(
      'CONFLICT',
      `reservation ${command.reservationId} is already ${reservation.status}`,
      {
        status: reservation.status,
      },
    );
  }
  const data: BudgetEventData<'BudgetReleased'> = {
    reservationId: reservation.reservationId,
    runId: reservation.runId,
    amountMicros: reservation.amountMicros,
  };
  if (reservation.model !== undefined) data.model = reservation.model;
  return [{ type: 'BudgetReleased', data }];
}

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

export const budgetLedgerDecider = {
  initialState: () => initialLedgerState,
  evolve: evolveLedger,
  decide: decideLedger,
};

export { decideLedger as decide, evolveLedger as evolve, initialLedgerState as initialState };
