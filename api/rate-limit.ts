// The request rate limits, shared by every instance through one RateCounter
// (infra/ratelimit/rate-counter.ts: PostgreSQL, Redis, or this process's memory on PGlite):
// per API key (requests without one: per client address), by @fastify/rate-limit with the
// counter as its store, and per tenant, by a hook over the same counter. Health, readiness
// and metrics are never limited: a probe must not fail because a browser on the same address
// loaded the console. The tenant's use is in the x-ratelimit-tenant-* headers (and in
// GET /v1/capabilities, which reads them).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SYSTEM_TENANT } from '../domain/actor.ts';
import type { RateCounter } from '../infra/ratelimit/rate-counter.ts';
import { HttpError } from './errors.ts';
import { metricsPath } from './metrics.ts';

const WINDOW_MS = 60_000;
/** Routes the request rate limits never count nor refuse. */
const unlimitedRoutes = new Set(['/healthz', '/readyz', metricsPath]);
const unlimited = (request: FastifyRequest) => unlimitedRoutes.has(request.routeOptions.url ?? '');

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

/** @fastify/rate-limit's store interface over a RateCounter. */
function storeOver(counter: RateCounter) {
  return class CounterStore {
    incr(
      key: string,
      done: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      counter.incr(`key:${key}`, timeWindow).then(
        ({ current, ttlMs }) => done(null, { current, ttl: ttlMs }),
        (error: Error) => done(error),
      );
    }
    child() {
      return this;
    }
  };
}

export async function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const { counter, perKeyPerMinute, perTenantPerMinute } = options;
  await app.register(rateLimit, {
    max: perKeyPerMinute,
    timeWindow: WINDOW_MS,
    store: storeOver(counter),
    // A counter that cannot be reached (the database or Redis is down) lets requests through:
    // the route answers 503 itself if it needs the store.
    skipOnError: true,
    allowList: unlimited,
    keyGenerator: (request) => (request.principal ? request.principal.keyId : `ip:${request.ip}`),
    errorResponseBuilder: (request, context) => {
      const limited = request.principal ? 'per API key' : 'per client address (requests without an API key)';
      return new HttpError(
        429,
        'RATE_LIMITED',
        `rate limit exceeded: at most ${perKeyPerMinute} requests a minute ${limited}`,
        { limit: context.max, limited, retryAfter: context.after },
      );
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    const tenant = request.principal?.tenantId;
    if (!tenant || tenant === SYSTEM_TENANT || unlimited(request)) return;
    let window: Awaited<ReturnType<RateCounter['incr']>>;
    try {
      window = await counter.incr(`tenant:${tenant}`, WINDOW_MS);
    } catch (error) {
      request.log.warn({ err: error }, 'tenant rate limit counter unreachable; not limiting');
      return;
    }
    const resetSeconds = Math.ceil(window.ttlMs / 1000);
    reply.header(TENANT_HEADERS.limit, perTenantPerMinute);
    reply.header(TENANT_HEADERS.remaining, Math.max(0, perTenantPerMinute - window.current));
    reply.header(TENANT_HEADERS.reset, resetSeconds);
    if (window.current > perTenantPerMinute) {
      reply.header('retry-after', resetSeconds);
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `rate limit exceeded: at most ${perTenantPerMinute} requests a minute per tenant`,
        { limit: perTenantPerMinute, limited: 'per tenant', retryAfter: `${resetSeconds} seconds` },
      );
    }
  });
}
