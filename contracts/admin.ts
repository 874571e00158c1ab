// The system key's routes: API keys and the read models' operation.
import { z } from 'zod';
import { actorRoles, SYSTEM_TENANT, tenantIdPattern, tenantRoles } from '../domain/actor.ts';
import { noBody } from './common.ts';
import { defineRoute } from './route.ts';

const tenant = z
  .string()
  .regex(tenantIdPattern, 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit')
  .refine((value) => value !== SYSTEM_TENANT, `the tenant "${SYSTEM_TENANT}" is reserved`);

const role = z.enum(tenantRoles, {
  error: (issue) =>
    issue.input === 'system'
      ? 'system keys are not created over the API'
      : `must be one of ${tenantRoles.join(', ')}`,
});

const keyView = z.object({
  keyId: z.string(),
  tenant: z.string(),
  role: z.enum(actorRoles),
  label: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const createKey = defineRoute({
  method: 'POST',
  url: '/v1/admin/keys',
  summary: 'Create an API key for a tenant and role; the key is shown once',
  tags: ['keys'],
  permission: 'manage_keys',
  body: z.strictObject({ tenant, role, label: z.string().trim().min(1).max(200).optional() }),
  response: { 201: keyView.extend({ key: z.string() }).describe('created') },
});

export const listKeys = defineRoute({
  method: 'GET',
  url: '/v1/admin/keys',
  summary: 'List API keys (never the keys themselves)',
  tags: ['keys'],
  permission: 'manage_keys',
  querystring: z.strictObject({
    tenant: tenant.optional(),
    include_revoked: z.enum(['true', 'false']).optional(),
  }),
  response: { 200: z.object({ items: z.array(keyView) }) },
});

export const revokeKey = defineRoute({
  method: 'DELETE',
  url: '/v1/admin/keys/:keyId',
  summary: 'Revoke an API key',
  tags: ['keys'],
  permission: 'manage_keys',
  params: z.strictObject({ keyId: z.string().min(1).max(100) }),
  response: { 200: keyView.describe('revoked') },
  errors: [404],
});

const projectionStatus = z.object({
  name: z.string(),
  version: z.int(),
  checkpoint: z.string(),
  behindEvents: z.int(),
  behindSeconds: z.number(),
});
export type ProjectionStatusView = z.infer<typeof projectionStatus>;

export const listProjections = defineRoute({
  method: 'GET',
  url: '/v1/admin/projections',
  summary: 'Projection versions, checkpoints and lag',
  tags: ['operations'],
  permission: 'operate',
  response: { 200: z.object({ items: z.array(projectionStatus) }) },
});

export const rebuildProjection = defineRoute({
  method: 'POST',
  url: '/v1/admin/projections/:name/rebuild',
  summary: 'Empty a projection and re-fold it from the first event',
  tags: ['operations'],
  permission: 'operate',
  params: z.strictObject({ name: z.string().max(64) }),
  body: noBody,
  response: { 202: z.object({ name: z.string(), rebuilding: z.literal(true) }).describe('rebuilding') },
  errors: [404],
});
