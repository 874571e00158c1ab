// The tenant day ledger: each run's own stream per day (`budget-<tenantId>-<yyyy-mm-dd>:<runId>`),
// kept exact by the day's counters (domain/budget/ledger.ts). Days recorded before: one stream.
import { z } from 'zod';
import { microsSchema } from '../money.ts';
import { idSchema } from './fields.ts';

export const budgetReserved = z.strictObject({
  reservationId: idSchema,
  runId: idSchema,
  amountMicros: microsSchema,
  model: z.string().min(1).optional(),
  /** The day limit in force when reserving, recorded for audit. */
  limitMicros: microsSchema,
  modelCapMicros: microsSchema.optional(),
});

export const budgetSettled = z.strictObject({
  reservationId: idSchema,
  runId: idSchema,
  reservedMicros: microsSchema,
  /** The true spend; may exceed the reservation (recorded, never hidden). */
  actualMicros: microsSchema,
  model: z.string().min(1).optional(),
});

export const budgetReleased = z.strictObject({
  reservationId: idSchema,
  runId: idSchema,
  amountMicros: microsSchema,
  model: z.string().min(1).optional(),
});

export const budgetEventSchemas = {
  BudgetReserved: budgetReserved,
  BudgetSettled: budgetSettled,
  BudgetReleased: budgetReleased,
} as const;

type BudgetEventSchemas = typeof budgetEventSchemas;
export type BudgetEventType = keyof BudgetEventSchemas;
export type BudgetEventData<T extends BudgetEventType> = z.infer<BudgetEventSchemas[T]>;
export type BudgetEvent = { [T in BudgetEventType]: { type: T; data: BudgetEventData<T> } }[BudgetEventType];
