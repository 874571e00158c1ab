// A route's contract: its method, URL, permission and the zod schemas of everything it takes
// and answers. The server registers each route from its contract (fastify validates and
// serialises with the schemas, @fastify/swagger documents them) and the client (client/)
// types its methods with the same schemas. No fastify here: the console bundles this folder.
import { z } from 'zod';
import type { Action } from '../api/auth/permissions.ts';

/** A response that is not JSON (a stream, a file): its media types and their schemas. */
export interface ContentResponse {
  description: string;
  content: Record<string, { schema: z.ZodType }>;
}

export interface RouteContract {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  tags: readonly string[];
  /** The permission the route checks (api/auth/permissions.ts); absent, the route is public. */
  permission?: Action;
  params?: z.ZodType;
  querystring?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
  /** Success responses by status. */
  response: Readonly<Record<number, z.ZodType | ContentResponse>>;
  /** Error statuses beyond the ones derived from the route (see errorStatuses). */
  errors?: readonly number[];
  /** False for the routes outside the rate limit. */
  rateLimited?: false;
}

/** Keeps the contract's literal types (the client infers from them). */
export const defineRoute = <const C extends RouteContract>(contract: C): C => contract;

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable: INVALID_INPUT, NOT_FOUND, RATE_LIMITED, …'),
      message: z.string(),
      details: z.unknown().optional().describe("for INVALID_INPUT, zod's issues with their paths"),
    }),
  })
  .meta({ id: 'Error', description: 'The one error shape of every route' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const errorDescriptions: Readonly<Record<number, string>> = {
  400: 'invalid input (nothing written); details.issues lists each problem with its path',
  401: 'no API key, a malformed Authorization header, or an unknown or revoked key',
  403: "the key's role does not allow this",
  404: "no such resource for the key's tenant (another tenant's resource is a 404 too)",
  409: 'a version conflict, or an Idempotency-Key reused with another request',
  413: 'the body is larger than AOS_MAX_EVENT_BYTES',
  415: 'the body is not JSON',
  429: 'too many requests (AOS_RATE_LIMIT_PER_MINUTE); see retry-after',
  503: 'the event store is unreachable',
};

/** Every error status a route can answer: its own, and the ones its shape implies. */
export function errorStatuses(contract: RouteContract): number[] {
  const statuses = new Set(contract.errors ?? []);
  if (contract.params || contract.querystring || contract.headers || contract.body) statuses.add(400);
  if (contract.body) statuses.add(415);
  if (contract.permission) for (const status of [401, 403]) statuses.add(status);
  if (contract.rateLimited !== false) statuses.add(429);
  return [...statuses].sort();
}
