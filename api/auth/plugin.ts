// Authentication: every request carries `Authorization: Bearer <key>`; the key's identity
// becomes `request.principal`. Routes are closed unless they say otherwise: a route opts out
// with `config: {public: true}` or by its URL being listed in `publicPaths` (health, docs).
// Unknown URLs are left to the not-found handler (a 404 says nothing about any tenant).
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Actor, ActorRole } from '../../domain/actor.ts';
import type { ApiKeyStore, KeyIdentity } from '../../infra/auth/api-key-store.ts';
import { HttpError } from '../errors.ts';
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
  }
}

export interface AuthPluginOptions {
  keys: ApiKeyStore;
  /** Route URLs (and everything under them) served without a key. */
  publicPaths?: readonly string[];
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

function isPublic(request: FastifyRequest, publicPaths: readonly string[]): boolean {
  if (request.routeOptions.config?.public === true) return true;
  const url = request.routeOptions.url;
  if (url === undefined) return false;
  return publicPaths.some((path) => url === path || url.startsWith(`${path}/`));
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app, { keys, publicPaths = defaultPublicPaths }) => {
    app.decorateRequest('principal', null);

    app.addHook('onRequest', async (request, reply) => {
      if (request.is404 || isPublic(request, publicPaths)) return;
      const header = request.headers.authorization;
      if (header === undefined || header === '') {
        throw unauthenticated(reply, 'an API key is required: send "Authorization: Bearer <key>"');
      }
      const match = BEARER.exec(header);
      if (!match) {
        throw unauthenticated(reply, 'the Authorization header must be "Bearer <key>"', 'invalid_token');
      }
      const identity = await keys.authenticate(match[1]!);
      if (!identity) throw unauthenticated(reply, 'the API key is unknown or revoked', 'invalid_token');
      request.principal = { ...identity, actor: { id: identity.keyId, role: identity.role } };
    });
  },
  { name: 'aos-auth', fastify: '5.x' },
);

/** The request's principal; a 401 when there is none (a public route asking for one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(401, 'UNAUTHENTICATED', 'an API key is required');
  return request.principal;
}

function forbidden(principal: Principal, what: string): HttpError {
  return new HttpError(403, 'FORBIDDEN', `a ${principal.role} key may not ${what}`, {
    role: principal.role,
  });
}

/** preHandler: the principal's role must allow `action` (see permissions.ts). */
export function requirePermission(action: Action): preHandlerAsyncHookHandler {
  return async (request) => {
    const principal = principalOf(request);
    if (!can(principal.role, action)) throw forbidden(principal, action.replace('_', ' '));
  };
}

/** preHandler: the principal must have one of these roles. Prefer requirePermission. */
export function requireRole(...roles: ActorRole[]): preHandlerAsyncHookHandler {
  return async (request) => {
    const principal = principalOf(request);
    if (!roles.includes(principal.role)) throw forbidden(principal, 'do this');
  };
}
