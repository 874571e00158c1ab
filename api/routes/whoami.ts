// Who the caller's key is: its tenant, role and what the role may do. The console asks once
// after sign-in, to check the key and to show only the actions the role allows. It needs the
// `read` permission: a system key (which reads no tenant's data) has no use for the console.
import type { FastifyPluginAsync } from 'fastify';
import { whoami } from '../../contracts/ops.ts';
import { permissions } from '../auth/permissions.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';

export const whoamiRoutes: FastifyPluginAsync = async (app) => {
  typed(app).route({
    ...routeOf(whoami),
    handler: async (request) => {
      const { keyId, tenantId, role } = principalOf(request);
      return { keyId, tenantId, role, permissions: [...permissions[role]] };
    },
  });
};
