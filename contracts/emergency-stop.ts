// The emergency stop (docs/failures.md): the system key stops and resumes any tenant or every
// tenant, a tenant's admin its own tenant; every key of a tenant sees the stop holding it.
import { z } from 'zod';
import { actorSchema, SYSTEM_TENANT, tenantIdPattern } from '../domain/actor.ts';
import { defineRoute } from './route.ts';

const tenant = z
  .string()
  .regex(tenantIdPattern, 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit')
  .refine((value) => value !== SYSTEM_TENANT, `the tenant "${SYSTEM_TENANT}" is reserved`);

export const stopView = z.object({
  tenantId: z.string().nullable().describe('null: every tenant'),
  actor: actorSchema,
  reason: z.string().optional(),
  at: z.string().describe('when the stop was recorded'),
});
export type StopView = z.infer<typeof stopView>;

const stopsAnswer = z.object({
  changed: z.boolean().describe('false: the scope was already in that state, nothing was recorded'),
  stops: z.array(stopView).describe("the stops in force the caller sees: every tenant's first"),
});

const scopeDescription =
  'the tenant to stop; absent: every tenant for the system key, its own tenant for an admin (who may name no other)';

export const emergencyStop = defineRoute({
  method: 'POST',
  url: '/v1/admin/emergency-stop',
  summary:
    "Stop every attempt of a tenant's runs (or of every tenant's): calls in flight are aborted, runs pause",
  tags: ['operations'],
  permission: 'emergency_stop',
  body: z.strictObject({
    tenant: tenant.optional().describe(scopeDescription),
    // Every stop says why: it is shown on the console's banner and kept in the audit.
    reason: z.string().trim().min(1).max(2000).describe('why: shown on every console page of the tenant'),
  }),
  response: { 200: stopsAnswer },
});

export const emergencyResume = defineRoute({
  method: 'POST',
  url: '/v1/admin/emergency-stop/resume',
  summary: "Lift a tenant's (or every tenant's) emergency stop: its paused runs go on",
  tags: ['operations'],
  permission: 'emergency_stop',
  body: z.strictObject({ tenant: tenant.optional().describe(scopeDescription) }),
  response: { 200: stopsAnswer },
});

export const emergencyStops = defineRoute({
  method: 'GET',
  url: '/v1/admin/emergency-stop',
  summary:
    'The emergency stops in force: every one for the system key, an admin its tenant’s and every tenant’s',
  tags: ['operations'],
  permission: 'emergency_stop',
  response: { 200: z.object({ stops: z.array(stopView) }) },
});

export const emergencyStopHolding = defineRoute({
  method: 'GET',
  url: '/v1/emergency-stop',
  summary: "Whether an emergency stop holds the caller's tenant (the console's banner)",
  tags: ['operations'],
  permission: 'read',
  response: {
    200: z.object({ stop: stopView.nullable().describe("the stop holding the tenant's runs; null: none") }),
  },
});
