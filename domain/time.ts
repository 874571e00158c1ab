// The domain never reads a clock: instants arrive in commands as ISO-8601 strings and are
// recorded in events as `at`, normalised to UTC milliseconds ("…T…:…:….mmmZ"), so a replay
// that feeds a recorded `at` back as `now` gets the identical string.
import { z } from 'zod';
import { DomainError } from './domain-error.ts';

export const isoInstantSchema = z.iso.datetime({ offset: true });
export type IsoInstant = string;

export function instantMs(iso: IsoInstant, what = 'now'): number {
  const ms = Date.parse(iso);
  if (!isoInstantSchema.safeParse(iso).success || Number.isNaN(ms)) {
    throw new DomainError('INVALID_INPUT', `${what} is not an ISO-8601 instant: ${JSON.stringify(iso)}`);
  }
  return ms;
}

export function isoFromMs(ms: number): IsoInstant {
  return new Date(ms).toISOString();
}

/** Normalises any accepted ISO instant to the canonical UTC form recorded in events. */
export function normalizeInstant(iso: IsoInstant, what = 'now'): IsoInstant {
  return isoFromMs(instantMs(iso, what));
}

export function addMs(iso: IsoInstant, ms: number): IsoInstant {
  return isoFromMs(instantMs(iso) + ms);
}
