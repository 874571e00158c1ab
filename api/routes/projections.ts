// Operating the read models: how far behind each projection is, and rebuilding one.
import type { FastifyPluginAsync } from 'fastify';
import { listProjections, rebuildProjection } from '../../contracts/admin.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import type { AnyProjection } from '../../projections/projection.ts';
import { projectionStatuses } from '../../readmodels/projection-status.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

export interface ProjectionRoutesOptions {
  sql: Pick<SqlExecutor, 'query'>;
  projections: readonly AnyProjection[];
  rebuild: (name: string) => Promise<void>;
}

export const projectionRoutes: FastifyPluginAsync<ProjectionRoutesOptions> = async (app, options) => {
  const api = typed(app);

  api.route({
    ...routeOf(listProjections),
    handler: async () => ({ items: await projectionStatuses(options.sql, options.projections) }),
  });

  api.route({
    ...routeOf(rebuildProjection),
    handler: async (request, reply) => {
      const { name } = request.params;
      if (!options.projections.some((p) => p.name === name)) {
        throw new HttpError(404, 'NOT_FOUND', `no projection ${name}`, {
          projections: options.projections.map((p) => p.name),
        });
      }
      await options.rebuild(name);
      return reply.status(202).send({ name, rebuilding: true });
    },
  });
};
