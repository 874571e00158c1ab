// Key management, for the `system` key only: create (the key is shown once), list, revoke.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  type ApiKeyRecord,
  type ApiKeyStore,
  SYSTEM_TENANT,
  tenantIdPattern,
  tenantRoles,
} from '../../infra/auth/api-key-store.ts';
import { HttpError } from '../errors.ts';
import { requirePermission } from './plugin.ts';

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

export const createKeyBody = z.strictObject({
  tenant,
  role,
  label: z.string().trim().min(1).max(200).optional(),
});

const listKeysQuery = z.strictObject({
  tenant: tenant.optional(),
  include_revoked: z.enum(['true', 'false']).optional(),
});

const keyIdParams = z.strictObject({ keyId: z.string().min(1).max(100) });

/** Parses with zod; a failure is a 400 INVALID_INPUT with each issue's path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  throw new HttpError(400, 'INVALID_INPUT', `invalid ${what}`, {
    issues: parsed.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
      code: issue.code,
      message: issue.message,
    })),
  });
}

const view = (record: ApiKeyRecord) => ({
  keyId: record.keyId,
  tenant: record.tenantId,
  role: record.role,
  label: record.label,
  createdAt: record.createdAt,
  revokedAt: record.revokedAt,
});

export const keyRoutes: FastifyPluginAsync<{ keys: ApiKeyStore }> = async (app, { keys }) => {
  const manageKeys = requirePermission('manage_keys');

  app.post('/v1/admin/keys', { preHandler: manageKeys }, async (request, reply) => {
    const body = parseInput(createKeyBody, request.body, 'request body');
    const { record, key } = await keys.create({ tenantId: body.tenant, role: body.role, label: body.label });
    request.log.info({ keyId: record.keyId, tenant: record.tenantId, role: record.role }, 'API key created');
    return reply
      .status(201)
      .header('cache-control', 'no-store')
      .send({ ...view(record), key });
  });

  app.get('/v1/admin/keys', { preHandler: manageKeys }, async (request) => {
    const query = parseInput(listKeysQuery, request.query, 'query');
    const items = await keys.list({
      tenantId: query.tenant,
      includeRevoked: query.include_revoked !== 'false',
    });
    return { items: items.map(view) };
  });

  app.delete('/v1/admin/keys/:keyId', { preHandler: manageKeys }, async (request) => {
    const { keyId } = parseInput(keyIdParams, request.params, 'path');
    const record = await keys.revoke(keyId);
    if (!record) throw new HttpError(404, 'NOT_FOUND', `no API key ${keyId}`);
    request.log.info({ keyId }, 'API key revoked');
    return view(record);
  });
};
