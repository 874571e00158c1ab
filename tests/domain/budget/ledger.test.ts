import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  budgetLedgerDecider,
  budgetStreamId,
  committedMicros,
  dayLedgerDecider,
  dayLimitRefusal,
  decideOnDay,
  evolveDayTotals,
  evolveLedger,
  initialDayTotals,
  initialLedgerState,
  type LedgerCommand,
  type LedgerState,
  ledgerDayId,
  type Reserve,
  runLedgerStreamId,
} from '../../../domain/budget/ledger.ts';
import { DomainError } from '../../../domain/domain-error.ts';
import type { BudgetEvent } from '../../../domain/events/budget-events.ts';
import { deciderSpec } from '../spec.ts';

// The whole day in one fold: the day's rule applies to its own totals.
const spec = deciderSpec(dayLedgerDecider);
const reserve = (reservationId: string, amountMicros: number, extra: Partial<Reserve> = {}): Reserve => ({
  type: 'Reserve',
  reservationId,
  runId: 'run-1',
  amountMicros,
  limitMicros: 1_000,
  ...extra,
});
const reserved = (
  reservationId: string,
  amountMicros: number,
  extra: Record<string, unknown> = {},
): BudgetEvent => ({
  type: 'BudgetReserved',
  data: { reservationId, runId: 'run-1', amountMicros, limitMicros: 1_000, ...extra },
});

describe('budgetStreamId', () => {
  it('names the tenant and UTC day', () => {
    expect(budgetStreamId('acme', '2025-03-04T23:59:59.999Z')).toBe('budget-acme-2025-03-04');
    expect(budgetStreamId('acme', '2025-03-05T00:30:00+01:00')).toBe('budget-acme-2025-03-04');
    expect(budgetStreamId('acme', '2025-03-04')).toBe('budget-acme-2025-03-04');
    expect(() => budgetStreamId('acme', 'yesterday')).toThrow(DomainError);
  });

  it("names a run's ledger within its day, and the day of any ledger stream", () => {
    const runLedger = runLedgerStreamId('acme', '2025-03-04T23:59:59.999Z', 'run-9');
    expect(runLedger).toBe('budget-acme-2025-03-04:run-9');
    expect(ledgerDayId(runLedger)).toBe('budget-acme-2025-03-04');
    // Days recorded as one stream, and tenants with dashes or colons in their names.
    expect(ledgerDayId('budget-acme-2025-03-04')).toBe('budget-acme-2025-03-04');
    expect(ledgerDayId(runLedgerStreamId('a-b:c', '2025-03-04', 'r'))).toBe('budget-a-b:c-2025-03-04');
    expect(() => ledgerDayId('run-9')).toThrow(DomainError);
  });
});

describe("a run's ledger", () => {
  const runSpec = deciderSpec(budgetLedgerDecider);
  it("decides idempotency and terms on the run's own reservations; the day's room is the counter's", () => {
    // Its totals are only the run's share: the day's rule is checked against the whole day apart.
    runSpec
      .given([reserved('r1', 900)])
      .when(reserve('r2', 900))
      .then([reserved('r2', 900)]);
    runSpec
      .given([reserved('r1', 900)])
      .when(reserve('r1', 900))
      .thenNothing();
    expect(dayLimitRefusal(reserve('r2', 101), { ...initialDayTotals, reservedMicros: 900 })).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: { remainingMicros: 100 },
    });
    expect(dayLimitRefusal(reserve('r2', 100), { ...initialDayTotals, reservedMicros: 900 })).toBeNull();
  });
});

describe('day totals', () => {
  it("fold every run's ledger of the day, and a day recorded as one stream, to the same totals", () => {
    const events: BudgetEvent[] = [
      reserved('r1', 400, { model: 'stub' }),
      reserved('r2', 300, { runId: 'run-2' }),
      {
        type: 'BudgetSettled',
        data: { reservationId: 'r1', runId: 'run-1', reservedMicros: 400, actualMicros: 350, model: 'stub' },
      },
      { type: 'BudgetReleased', data: { reservationId: 'r2', runId: 'run-2', amountMicros: 300 } },
      reserved('r3', 50),
    ];
    const totals = events.reduce(evolveDayTotals, initialDayTotals);
    expect(totals).toEqual({ reservedMicros: 50, settledMicros: 350, committedByModel: { stub: 350 } });
    const asOneStream = events.reduce(evolveLedger, initialLedgerState);
    expect({
      reservedMicros: asOneStream.reservedMicros,
      settledMicros: asOneStream.settledMicros,
      committedByModel: asOneStream.committedByModel,
    }).toEqual(totals);
    expect(committedMicros(totals)).toBe(400);
  });

  it('keep a constant size however many reservations the day holds', () => {
    let totals = initialDayTotals;
    for (let i = 0; i < 5_000; i++) totals = evolveDayTotals(totals, reserved(`r${i}`, 1, { model: 'stub' }));
    expect(totals).toEqual({ reservedMicros: 5_000, settledMicros: 0, committedByModel: { stub: 5_000 } });
  });
});

describe('Reserve', () => {
  it('reserves within the day limit', () => {
    spec
      .given([])
      .when(reserve('r1', 400))
      .then([reserved('r1', 400)]);
    spec
      .given([reserved('r1', 400)])
      .when(reserve('r2', 600, { model: 'stub' }))
      .then([reserved('r2', 600, { model: 'stub' })]);
  });

  it('refuses a reservation that would pass the limit, with requested and remaining', () => {
    const error = spec
      .given([
        reserved('r1', 400),
        {
          type: 'BudgetSettled',
          data: { reservationId: 'r1', runId: 'run-1', reservedMicros: 400, actualMicros: 300 },
        },
        reserved('r2', 500),
      ])
      .when(reserve('r3', 201))
      .thenThrows('BUDGET_EXCEEDED');
    expect(error.details).toEqual({
      scope: 'tenant_day',
      requestedMicros: 201,
      remainingMicros: 200,
      limitMicros: 1_000,
    });
  });

  it('refuses a reservation above its model cap', () => {
    const caps = { modelCaps: { 'gpt-4o': 500 } };
    spec
      .given([reserved('r1', 400, { model: 'gpt-4o', modelCapMicros: 500 })])
      .when(reserve('r2', 200, { model: 'gpt-4o', ...caps }))
      .thenThrows('BUDGET_EXCEEDED', /cap for model gpt-4o/);
    spec
      .given([reserved('r1', 400, { model: 'gpt-4o', modelCapMicros: 500 })])
      .when(reserve('r2', 200, { model: 'stub', ...caps }))
      .then([reserved('r2', 200, { model: 'stub' })]);
    spec
      .given([])
      .when(reserve('r1', 100, { model: 'gpt-4o', ...caps }))
      .then([reserved('r1', 100, { model: 'gpt-4o', modelCapMicros: 500 })]);
  });

  it('is a no-op for the same reservation again; a conflict with other terms', () => {
    spec
      .given([reserved('r1', 400)])
      .when(reserve('r1', 400))
      .thenNothing();
    spec
      .given([reserved('r1', 400)])
      .when(reserve('r1', 401))
      .thenThrows('CONFLICT');
  });

  it('refuses a malformed amount', () => {
    spec.given([]).when(reserve('r1', -1)).thenThrows('INVALID_INPUT');
  });
});

describe('Settle and Release', () => {
  const settled = (actualMicros: number): BudgetEvent => ({
    type: 'BudgetSettled',
    data: { reservationId: 'r1', runId: 'run-1', reservedMicros: 400, actualMicros },
  });

  it('settles with the true amount, even above the reservation', () => {
    spec
      .given([reserved('r1', 400)])
      .when({ type: 'Settle', reservationId: 'r1', actualMicros: 250 })
      .then([settled(250)]);
    spec
      .given([reserved('r1', 400)])
      .when({ type: 'Settle', reservationId: 'r1', actualMicros: 450 })
      .then([settled(450)]);
  });

  it('refuses to settle an unknown or released reservation; re-settling the same amount is a no-op', () => {
    spec.given([]).when({ type: 'Settle', reservationId: 'r1', actualMicros: 1 }).thenThrows('NOT_FOUND');
    const released: BudgetEvent = {
      type: 'BudgetReleased',
      data: { reservationId: 'r1', runId: 'run-1', amountMicros: 400 },
    };
    spec
      .given([reserved('r1', 400), released])
      .when({ type: 'Settle', reservationId: 'r1', actualMicros: 1 })
      .thenThrows('CONFLICT');
    spec
      .given([reserved('r1', 400), settled(250)])
      .when({ type: 'Settle', reservationId: 'r1', actualMicros: 250 })
      .thenNothing();
    spec
      .given([reserved('r1', 400), settled(250)])
      .when({ type: 'Settle', reservationId: 'r1', actualMicros: 260 })
      .thenThrows('CONFLICT', /already settled/);
  });

  it('releases an open reservation, freeing its budget', () => {
    const released: BudgetEvent = {
      type: 'BudgetReleased',
      data: { reservationId: 'r1', runId: 'run-1', amountMicros: 400 },
    };
    spec
      .given([reserved('r1', 400)])
      .when({ type: 'Release', reservationId: 'r1' })
      .then([released]);
    spec
      .given([reserved('r1', 400), released])
      .when({ type: 'Release', reservationId: 'r1' })
      .thenNothing();
    spec
      .given([reserved('r1', 400), released])
      .when(reserve('r2', 1_000))
      .then([reserved('r2', 1_000)]);
    spec
      .given([reserved('r1', 400), settled(1)])
      .when({ type: 'Release', reservationId: 'r1' })
      .thenThrows('CONFLICT');
    spec.given([]).when({ type: 'Release', reservationId: 'x' }).thenThrows('NOT_FOUND');
  });
});

describe('no interleaving overspends', () => {
  const commandArb = (ids: string[]) =>
    fc.oneof(
      fc.record({
        type: fc.constant('Reserve' as const),
        reservationId: fc.constantFrom(...ids),
        amountMicros: fc.nat(400),
        model: fc.option(fc.constantFrom('stub', 'gpt-4o'), { nil: undefined }),
      }),
      fc.record({
        type: fc.constant('Settle' as const),
        reservationId: fc.constantFrom(...ids),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({ type: fc.constant('Release' as const), reservationId: fc.constantFrom(...ids) }),
    );

  it('committed (settled + outstanding reserved) never passes the limit, nor a model its cap', () => {
    const ids = Array.from({ length: 8 }, (_, index) => `r${index}`);
    fc.assert(
      fc.property(
        fc.array(commandArb(ids), { maxLength: 60 }),
        fc.integer({ min: 0, max: 1_500 }),
        (script, limit) => {
          const caps = { 'gpt-4o': Math.floor(limit / 2) };
          let state: LedgerState = initialLedgerState;
          for (const step of script) {
            let command: LedgerCommand;
            if (step.type === 'Reserve') {
              command = {
                type: 'Reserve',
                reservationId: step.reservationId,
                runId: 'run',
                amountMicros: step.amountMicros,
                limitMicros: limit,
                modelCaps: caps,
                ...(step.model === undefined ? {} : { model: step.model }),
              };
            } else if (step.type === 'Settle') {
              // Settlements at or below the reservation: the executor reserves an upper bound.
              const reservation = state.reservations[step.reservationId];
              command = {
                type: 'Settle',
                reservationId: step.reservationId,
                actualMicros: Math.floor((reservation?.amountMicros ?? 0) * step.fraction),
              };
            } else command = step;
            try {
              for (const event of decideOnDay(command, state)) state = evolveLedger(state, event);
            } catch (error) {
              expect(error).toBeInstanceOf(DomainError);
            }
            expect(committedMicros(state)).toBeLessThanOrEqual(limit);
            expect(state.committedByModel['gpt-4o'] ?? 0).toBeLessThanOrEqual(caps['gpt-4o']);
            const open = Object.values(state.reservations).filter((r) => r.status === 'reserved');
            expect(state.reservedMicros).toBe(open.reduce((sum, r) => sum + r.amountMicros, 0));
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 500) },
    );
  });
});
