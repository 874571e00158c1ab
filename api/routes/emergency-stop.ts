// The emergency stop's routes (contracts/emergency-stop.ts) over commands/emergency-stop.ts.
// The system key names any tenant or none (every tenant); an admin acts on its own tenant
// only: naming another is a 403 and nothing is recorded.
import type { FastifyPluginAsync } from 'fastify';
import {
  type EmergencyStopDeps,
  emergencyResume,
  emergencyStop,
  emergencyStopState,
} from '../../commands/emergency-stop.ts';
import * as contracts from '../../contracts/emergency-stop.ts';
import { stopHolding, stopsVisibleTo } from '../../domain/emergency-stop/decider.ts';
import { type Principal, principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

/** The tenant the system key sees every stop of (null); an admin, its own. */
const viewerOf = (principal: Principal) => (principal.role === 'system' ? null : principal.tenantId);

/** The scope a request acts on: null is every tenant, for the system key alone. */
function scopeOf(principal: Principal, tenant: string | undefined): string | null {
  if (principal.role === 'system') return tenant ?? null;
  if (tenant !== undefined && tenant !== principal.tenantId) {
    throw new HttpError(403, 'FORBIDDEN', `an admin key may stop its own tenant only, not "${tenant}"`, {
      tenant,
    });
  }
  return principal.tenantId;
}

export const emergencyStopRoutes: FastifyPluginAsync<EmergencyStopDeps> = async (app, deps) => {
  const api = typed(app);

  api.route({
    ...routeOf(contracts.emergencyStop),
    handler: async (request) => {
      const principal = principalOf(request);
      const { tenant, reason } = request.body;
      const tenantId = scopeOf(principal, tenant);
      const done = await emergencyStop(deps, { tenantId, actor: principal.actor, reason });
      request.log.warn({ tenantId, actor: principal.actor, changed: done.changed }, 'emergency stop');
      return { changed: done.changed, stops: stopsVisibleTo(done.state, viewerOf(principal)) };
    },
  });

  api.route({
    ...routeOf(contracts.emergencyResume),
    handler: async (request) => {
      const principal = principalOf(request);
      const tenantId = scopeOf(principal, request.body.tenant);
      const done = await emergencyResume(deps, { tenantId, actor: principal.actor });
      request.log.warn({ tenantId, actor: principal.actor, changed: done.changed }, 'emergency stop lifted');
      return { changed: done.changed, stops: stopsVisibleTo(done.state, viewerOf(principal)) };
    },
  });

  api.route({
    ...routeOf(contracts.emergencyStops),
    handler: async (request) => {
      const { state } = await emergencyStopState(deps.store);
      return { stops: stopsVisibleTo(state, viewerOf(principalOf(request))) };
    },
  });

  api.route({
    ...routeOf(contracts.emergencyStopHolding),
    handler: async (request) => {
      const { state } = await emergencyStopState(deps.store);
      return { stop: stopHolding(state, principalOf(request).tenantId) ?? null };
    },
  });
};
