// The one way an older-SDK route is served (contracts/older-sdk-route.ts): its contract's
// schemas validate the request, the adapter gets the validated parts and the caller, and what
// it returns is sent with the contract's one success status.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { RouteContract } from '../../contracts/route.ts';
import { type Principal, principalOf } from '../auth/plugin.ts';
import { routeOf } from '../contract-route.ts';

type Output<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What an adapter is given: the request's validated parts and the key's principal. */
export interface OlderSdkCall<C extends RouteContract> {
  params: Output<C['params']>;
  query: Output<C['querystring']>;
  body: Output<C['body']>;
  principal: Principal;
  /** For the rate limiter's headers, which capabilities report. */
  reply: FastifyReply;
}

export function serveOlderSdk<C extends RouteContract>(
  app: FastifyInstance,
  contract: C,
  adapter: (call: OlderSdkCall<C>) => Promise<unknown>,
): void {
  const [status, ...others] = Object.keys(contract.response).map(Number);
  if (status === undefined || others.length > 0) {
    throw new Error(`${contract.method} ${contract.url}: an older-SDK route answers one success status`);
  }
  app.route({
    ...routeOf(contract),
    handler: async (request, reply) => {
      const answer = await adapter({
        params: request.params as OlderSdkCall<C>['params'],
        query: request.query as OlderSdkCall<C>['query'],
        body: request.body as OlderSdkCall<C>['body'],
        principal: principalOf(request),
        reply,
      });
      return reply.status(status).send(answer);
    },
  });
}
