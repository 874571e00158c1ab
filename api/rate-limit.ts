// The request rate limits, shared by every instance through one RateCounter
// (infra/ratelimit/rate-counter.ts: PostgreSQL, Redis, or this process's memory on PGlite):
// per API key (requests without one: per client address) and per tenant, both counted by one
// increment per request (one statement, one script) in a hook on every route registered after
// them, which runs after the auth hook. Health, readiness and metrics are never limited: a probe
// must not fail because a browser on the same address loaded the console. The key's use is in
// the x-ratelimit-* headers, the tenant's in x-ratelimit-tenant-* (GET /v1/capabilities reads
// both). A request counts against both limits whichever refuses it; the tenant's is checked first.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { SYSTEM_TENANT } from '../domain/actor.ts';
import type { RateCounter, WindowCount } from '../infra/ratelimit/rate-counter.ts';
import { HttpError } from './errors.ts';
import { metricsPath } from './metrics.ts';

const WINDOW_MS = 60_000;
/** Routes the request rate limits never count nor refuse. */
const unlimitedRoutes = new Set(['/healthz', '/readyz', metricsPath]);

export const KEY_HEADERS = {
  limit: 'x-ratelimit-limit',
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
} as const;

export const TENANT_HEADERS = {
  limit: 'x-ratelimit-tenant-limit',
  remaining: 'x-ratelimit-tenant-remaining',
  reset: 'x-ratelimit-tenant-reset',
} as const;

export interface RateLimitOptions {
  counter: RateCounter;
  perKeyPerMinute: number;
  perTenantPerMinute: number;
}

/** Sets a limit's headers; true when this request is over it. */
function report(
  reply: FastifyReply,
  headers: typeof KEY_HEADERS | typeof TENANT_HEADERS,
  limit: number,
  window: WindowCount,
): boolean {
  const resetSeconds = Math.ceil(window.ttlMs / 1000);
  void reply.header(headers.limit, limit);
  void reply.header(headers.remaining, Math.max(0, limit - window.current));
  void reply.header(headers.reset, resetSeconds);
  if (window.current <= limit) return false;
  void reply.header('retry-after', resetSeconds);
  return true;
}

function refusal(limit: number, per: string, message: string, window: WindowCount): HttpError {
  const retryAfter = `${Math.ceil(window.ttlMs / 1000)} seconds`;
  return new HttpError(429, 'RATE_LIMITED', message, { limit, limited: per, retryAfter });
}

export async function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const { counter, perKeyPerMinute, perTenantPerMinute } = options;

  const limit: onRequestHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    const tenant = principal && principal.tenantId !== SYSTEM_TENANT ? principal.tenantId : null;
    const keys = [`key:${principal ? principal.keyId : `ip:${request.ip}`}`];
    if (tenant) keys.push(`tenant:${tenant}`);
    let windows: WindowCount[];
    try {
      windows = await counter.incr(keys, WINDOW_MS);
    } catch (error) {
      // A counter that cannot be reached (the database or Redis is down) lets requests through:
      // the route answers 503 itself if it needs the store.
      request.log.warn({ err: error }, 'rate limit counter unreachable; not limiting');
      return;
    }
    const [byKey, byTenant] = windows as [WindowCount, WindowCount | undefined];
    if (byTenant && report(reply, TENANT_HEADERS, perTenantPerMinute, byTenant)) {
      throw refusal(
        perTenantPerMinute,
        'per tenant',
        `rate limit exceeded: at most ${perTenantPerMinute} requests a minute per tenant`,
        byTenant,
      );
    }
    if (report(reply, KEY_HEADERS, perKeyPerMinute, byKey)) {
      const per = principal ? 'per API key' : 'per client address (requests without an API key)';
      throw refusal(
        perKeyPerMinute,
        per,
        `rate limit exceeded: at most ${perKeyPerMinute} requests a minute ${per}`,
        byKey,
      );
    }
  };

  // On each route from here on, as a route's own hook: it runs after the app's (authentication).
  app.addHook('onRoute', (route) => {
    if (unlimitedRoutes.has(route.url)) return;
    const own = route.onRequest;
    route.onRequest = own === undefined ? [limit] : [...(Array.isArray(own) ? own : [own]), limit];
  });
}
