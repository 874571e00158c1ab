// Who the caller's key is: its tenant, role and what the role may do. The console asks once
// after sign-in, to check the key and to show only the actions the role allows. It needs the
// `read` permission: a system key (which reads no tenant's data) has no use for the console.
import type { FastifyPluginAsync } from 'fastify';
import { permissions } from '../auth/permissions.ts';
import { principalOf, requirePermission } from '../auth/plugin.ts';

export const whoamiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/whoami', { preHandler: requirePermission('read') }, async (request) => {
    const { keyId, tenantId, role } = principalOf(request);
    return { keyId, tenantId, role, permissions: [...permissions[role]] };
  });
};
