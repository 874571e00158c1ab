// Authentication: every request carries `Authorization: Bearer <key>` (or the older SDKs'
// `X-AOS-Key: <key>`); the key's identity
// becomes `request.principal`. Routes are closed unless they say otherwise: a route opts out
// with `config: {public: true}` or by its URL being listed in `publicPaths` (health, docs).
// Authorisation: a route's `config.permission` (from its contract, api/contract-route.ts) is
// checked right after authentication, before any input is read. Unknown URLs are left to the
// not-found handler (a 404 says nothing about any tenant).
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Actor } from '../../domain/actor.ts';
import type { ApiKeyStore, KeyIdentity } from '../../infra/auth/api-key-store.ts';
import { HttpError } from '../errors.ts';
import { failureLimit } from './failure-limit.ts';
import { type Action, can } from './permissions.ts';

export interface Principal extends KeyIdentity {
  /** Who the key acts as in recorded events: the key id and its role. */
  actor: Actor;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key; null only on public routes and unknown URLs. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Serve this route without authentication. */
    public?: boolean;
    /** What the key's role must allow (permissions.ts); read by the auth hook and the docs. */
    permission?: Action;
  }
}

export interface AuthPluginOptions {
  keys: ApiKeyStore;
  /** Route URLs (and everything under them) served without a key. */
  publicPaths?: readonly string[];
  /** Unknown or revoked keys one client address may present per minute (default 60). */
  failuresPerMinute?: number;
}

export const defaultPublicPaths: readonly string[] = ['/healthz', '/readyz', '/docs'];

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function unauthenticated(reply: FastifyReply, message: string, error?: 'invalid_token'): HttpError {
  void reply.header(
    'www-authenticate',
    error ? `Bearer realm="aos", error="${error}"` : 'Bearer realm="aos"',
  );
  return new HttpError(401, 'UNAUTHENTICATED', message);
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, or `X-AOS-Key: <key>` as the
 * older AOS's SDKs send it. Undefined: none; null: an Authorization header that is not Bearer.
 */
function presentedKey(request: FastifyRequest): string | null | undefined {
  const header = request.headers.authorization;
  if (header !== undefined && header !== '') return BEARER.exec(header)?.[1] ?? null;
  const legacy = request.headers['x-aos-key'];
  const key = Array.isArray(legacy) ? legacy[0] : legacy;
  return key === undefined || key.trim() === '' ? undefined : key.trim();
}

function isPublic(request: FastifyRequest, publicPaths: readonly string[]): boolean {
  if (request.routeOptions.config?.public === true) return true;
  const url = request.routeOptions.url;
  if (url === undefined) return false;
  return publicPaths.some((path) => url === path || url.startsWith(`${path}/`));
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app, { keys, publicPaths = defaultPublicPaths, failuresPerMinute = 60 }) => {
    app.decorateRequest('principal', null);
    const failures = failureLimit(failuresPerMinute);

    app.addHook('onRequest', async (request, reply) => {
      if (request.is404 || isPublic(request, publicPaths)) return;
      const presented = presentedKey(request);
      if (presented === undefined) {
        throw unauthenticated(
          reply,
          'an API key is required: send "Authorization: Bearer <key>" or "X-AOS-Key: <key>"',
        );
      }
      if (presented === null) {
        throw unauthenticated(reply, 'the Authorization header must be "Bearer <key>"', 'invalid_token');
      }
      const retryAfter = failures.retryAfterSeconds(request.ip);
      if (retryAfter > 0) {
        void reply.header('retry-after', String(retryAfter));
        throw new HttpError(
          429,
          'RATE_LIMITED',
          `too many failed authentications from this client address: at most ${failuresPerMinute} a minute`,
          { limit: failuresPerMinute, limited: 'failed authentications per client address', retryAfter },
        );
      }
      const identity = await keys.authenticate(presented);
      if (!identity) {
        failures.recordFailure(request.ip);
        throw unauthenticated(reply, 'the API key is unknown or revoked', 'invalid_token');
      }
      request.principal = { ...identity, actor: { id: identity.keyId, role: identity.role } };
      const permission = request.routeOptions.config?.permission;
      if (permission && !can(identity.role, permission)) throw forbidden(request.principal, permission);
    });
  },
  { name: 'aos-auth', fastify: '5.x' },
);

/** The request's principal; a 401 when there is none (a public route asking for one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(401, 'UNAUTHENTICATED', 'an API key is required');
  return request.principal;
}

/** "a viewer key", "an admin key". */
const withArticle = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

function forbidden(principal: Principal, action: Action): HttpError {
  return new HttpError(
    403,
    'FORBIDDEN',
    `${withArticle(principal.role)} key may not ${action.replace('_', ' ')}`,
    { role: principal.role, permission: action },
  );
}
