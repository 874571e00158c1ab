// budget-days: each tenant's UTC day as its ledger holds it — outstanding reservations, settled
// spend and each model's share with the cap its latest reservation was held to — folded with
// the ledger's own `evolveDayTotals`, so the read model cannot disagree with the ledger's fold.
// `remaining_budget` reads it; the executor's exact counters stay in aos_budget_days.
import {
  type DayTotals,
  evolveDayTotals,
  initialDayTotals,
  isLedgerStream,
  ledgerDayId,
} from '../domain/budget/ledger.ts';
import { type BudgetEvent, budgetEventSchemas } from '../domain/events/budget-events.ts';
import type { Projection } from './projection.ts';

export interface BudgetDay extends DayTotals {
  /** Per model: the cap the latest reservation of that model recorded. */
  capsByModel: Record<string, number>;
}

export const budgetDaysProjection: Projection<BudgetDay> = {
  name: 'budget-days',
  version: 1,
  tables: [
    {
      name: 'rm_budget_days',
      keyColumns: ['tenant_id', 'day'],
      columns: ['reserved_micros', 'settled_micros', 'models'],
    },
  ],
  eventTypes: Object.keys(budgetEventSchemas),
  // One state per tenant day (not per run ledger): the day's totals are what is asked.
  keyOf: (event) => (isLedgerStream(event.streamId) ? ledgerDayId(event.streamId) : null),
  initialState: () => ({ ...initialDayTotals, capsByModel: {} }),
  apply(state, event) {
    const budgetEvent = { type: event.type, data: event.data } as BudgetEvent;
    const totals = evolveDayTotals(state, budgetEvent);
    const cap = budgetEvent.type === 'BudgetReserved' ? budgetEvent.data.modelCapMicros : undefined;
    const model = budgetEvent.data.model;
    const capsByModel =
      cap !== undefined && model !== undefined ? { ...state.capsByModel, [model]: cap } : state.capsByModel;
    const next = { ...totals, capsByModel };
    return {
      state: next,
      changes: [
        {
          table: 'rm_budget_days',
          kind: 'upsert',
          key: { tenant_id: event.metadata.tenantId, day: ledgerDayId(event.streamId).slice(-10) },
          values: {
            reserved_micros: next.reservedMicros,
            settled_micros: next.settledMicros,
            models: Object.keys(next.committedByModel)
              .sort()
              .map((name) => ({
                model: name,
                committedMicros: next.committedByModel[name]!,
                capMicros: next.capsByModel[name] ?? null,
              })),
          },
        },
      ],
    };
  },
};
