// Operating the read models: how far behind each projection is, and rebuilding one.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { SqlExecutor } from '../../infra/store/sql-client.ts';
import type { AnyProjection } from '../../projections/projection.ts';
import { projectionStatuses } from '../../readmodels/projection-status.ts';
import { parseInput } from '../auth/key-routes.ts';
import { requirePermission } from '../auth/plugin.ts';
import { HttpError } from '../errors.ts';

export interface ProjectionRoutesOptions {
  sql: Pick<SqlExecutor, 'query'>;
  projections: readonly AnyProjection[];
  rebuild: (name: string) => Promise<void>;
}

export const projectionRoutes: FastifyPluginAsync<ProjectionRoutesOptions> = async (app, options) => {
  const operate = { preHandler: requirePermission('operate') };

  app.get('/v1/admin/projections', operate, async () => ({
    items: await projectionStatuses(options.sql, options.projections),
  }));

  app.post('/v1/admin/projections/:name/rebuild', operate, async (request, reply) => {
    const { name } = parseInput(z.strictObject({ name: z.string().max(64) }), request.params, 'path');
    if (!options.projections.some((p) => p.name === name)) {
      throw new HttpError(404, 'NOT_FOUND', `no projection ${name}`, {
        projections: options.projections.map((p) => p.name),
      });
    }
    await options.rebuild(name);
    return reply.status(202).send({ name, rebuilding: true });
  });
};
