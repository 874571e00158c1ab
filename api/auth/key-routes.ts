// Key management, for the `system` key only: create (the key is shown once), list, revoke.
import type { FastifyPluginAsync } from 'fastify';
import { createKey, listKeys, revokeKey } from '../../contracts/admin.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../../infra/auth/api-key-store.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

const view = (record: ApiKeyRecord) => ({
  keyId: record.keyId,
  tenant: record.tenantId,
  role: record.role,
  label: record.label,
  createdAt: record.createdAt,
  revokedAt: record.revokedAt,
});

export const keyRoutes: FastifyPluginAsync<{ keys: ApiKeyStore }> = async (app, { keys }) => {
  const api = typed(app);

  api.route({
    ...routeOf(createKey),
    handler: async (request, reply) => {
      const { tenant, role, label } = request.body;
      const { record, key } = await keys.create({ tenantId: tenant, role, label });
      request.log.info(
        { keyId: record.keyId, tenant: record.tenantId, role: record.role },
        'API key created',
      );
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...view(record), key });
    },
  });

  api.route({
    ...routeOf(listKeys),
    handler: async (request) => {
      const { query } = request;
      const items = await keys.list({
        tenantId: query.tenant,
        includeRevoked: query.include_revoked !== 'false',
      });
      return { items: items.map(view) };
    },
  });

  api.route({
    ...routeOf(revokeKey),
    handler: async (request) => {
      const { keyId } = request.params;
      const record = await keys.revoke(keyId);
      if (!record) throw new HttpError(404, 'NOT_FOUND', `no API key ${keyId}`);
      request.log.info({ keyId }, 'API key revoked');
      return view(record);
    },
  });
};
