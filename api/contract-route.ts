// Registers a route from its contract (contracts/): fastify validates params, query, headers
// and body with the contract's zod schemas before the handler (a failure is a
// RequestValidationError, answered by api/errors.ts), serialises the response with its
// schema, and @fastify/swagger documents both. The permission goes into the route's config,
// where the auth hook (api/auth/plugin.ts) and the docs (api/openapi.ts) read it.
import type { FastifyContextConfig, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema, errorDescriptions, errorStatuses, type RouteContract } from '../contracts/route.ts';

/** A request part that does not match its schema; zod's own error is kept for the answer. */
export class RequestValidationError extends Error {
  constructor(
    readonly part: string,
    readonly zodError: z.ZodError,
  ) {
    super(`invalid ${part}: ${z.prettifyError(zodError).replace(/\n\s*/g, ' ')}`);
  }
}

const partNames: Record<string, string> = { querystring: 'query', params: 'path' };

const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const parsed = schema.safeParse(data);
    if (parsed.success) return { value: parsed.data };
    const part = partNames[httpPart ?? ''] ?? httpPart ?? 'input';
    return { error: new RequestValidationError(part, parsed.error) };
  };

/** Zod validates and serialises every route of `app`. */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}

/** The fastify schema of a contract: its shapes, and the error responses it can give. */
function schemaOf(contract: RouteContract) {
  const response: Record<number, unknown> = { ...contract.response };
  for (const status of errorStatuses(contract)) {
    response[status] = {
      description: errorDescriptions[status] ?? 'error',
      content: { 'application/json': { schema: errorBodySchema } },
    };
  }
  return {
    summary: contract.summary,
    tags: [...contract.tags],
    ...(contract.params ? { params: contract.params } : {}),
    ...(contract.querystring ? { querystring: contract.querystring } : {}),
    ...(contract.headers ? { headers: contract.headers } : {}),
    ...(contract.body ? { body: contract.body } : {}),
    response,
  };
}

type Schema<C extends RouteContract> = {
  params: C['params'] extends z.ZodType ? C['params'] : undefined;
  querystring: C['querystring'] extends z.ZodType ? C['querystring'] : undefined;
  headers: C['headers'] extends z.ZodType ? C['headers'] : undefined;
  body: C['body'] extends z.ZodType ? C['body'] : undefined;
  // Left out of the handler's type: the read models return loosely typed rows. The response
  // schemas are enforced when the reply is serialised (a mismatch is a 500, never a silent
  // change of shape), and tests/api/openapi.test.ts checks real answers against the docs.
};

/**
 * The route options of a contract, for `typed(app).route({...routeOf(contract), handler})`:
 * the handler's request is typed by the contract's schemas.
 */
export function routeOf<C extends RouteContract>(contract: C) {
  return {
    method: contract.method,
    url: contract.url,
    schema: schemaOf(contract) as unknown as Schema<C>,
    config: (contract.permission
      ? { permission: contract.permission }
      : { public: true }) satisfies FastifyContextConfig as FastifyContextConfig,
  };
}

/** The app, with handlers typed by their route's zod schemas. */
export const typed = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>();
