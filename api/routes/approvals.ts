// GET /v1/approvals: the caller's tenant's approvals, from the approvals read model.
import type { FastifyPluginAsync } from 'fastify';
import * as contracts from '../../contracts/approvals.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { listApprovals } from '../../readmodels/queries.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';

export const approvalRoutes: FastifyPluginAsync<{ sql: Pick<SqlExecutor, 'query'> }> = async (
  app,
  { sql },
) => {
  typed(app).route({
    ...routeOf(contracts.listApprovals),
    handler: async (request) => {
      const { status, run_id, limit, cursor } = request.query;
      return listApprovals(
        sql,
        principalOf(request).tenantId,
        { ...(status ? { status } : {}), ...(run_id ? { runId: run_id } : {}) },
        { limit, ...(cursor ? { cursor } : {}) },
      );
    },
  });
};
