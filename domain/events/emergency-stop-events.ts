// The emergency stop's stream (`emergency-stop`): one stream for every scope, so an attempt's
// start reads (and fences, docs/failures.md) a single stream to learn whether a stop holds its
// tenant. A scope is one tenant, or every tenant (`tenantId: null`).
import { z } from 'zod';
import { actorSchema } from '../actor.ts';
import { atSchema, idSchema } from './fields.ts';

const scope = { tenantId: idSchema.nullable().describe('null: every tenant') };

/** No attempt of the scope's runs starts from here on; the calls in flight are aborted. */
export const emergencyStopped = z.strictObject({
  ...scope,
  actor: actorSchema,
  reason: z.string().max(2000).optional(),
  at: atSchema,
});

/** The scope's stop is lifted: its paused runs go on. */
export const emergencyResumed = z.strictObject({
  ...scope,
  actor: actorSchema,
  /** When the stop it lifts was recorded. */
  stoppedAt: atSchema,
  at: atSchema,
});

export const emergencyStopEventSchemas = {
  EmergencyStopped: emergencyStopped,
  EmergencyResumed: emergencyResumed,
} as const;
