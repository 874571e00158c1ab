// A typed client of the AOS HTTP API: one method per route of contracts/index.ts, its request
// and answer typed by the route's own zod schemas (the ones the server validates with).
// Errors are AosError, with the API's code, the HTTP status and the details. Runs in Node
// (the CLI) and in browsers (the console): fetch only.
import type { z } from 'zod';
import {
  type ErrorBody,
  type RouteContract,
  type RouteName,
  type Routes,
  routes,
} from '../contracts/index.ts';

export class AosError extends Error {
  override readonly name = 'AosError';
  constructor(
    /** The HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The API's error code (INVALID_INPUT, NOT_FOUND, …), or NETWORK / HTTP_ERROR. */
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

type InputPart<S, Key extends string> = S extends z.ZodType
  ? undefined extends z.input<S>
    ? { [K in Key]?: z.input<S> }
    : object extends z.input<S>
      ? { [K in Key]?: z.input<S> }
      : { [K in Key]: z.input<S> }
  : unknown;

/** What a route takes: path params, query, body and headers, each as its schema's input. */
export type RequestOf<C extends RouteContract> = InputPart<C['params'], 'params'> &
  InputPart<C['querystring'], 'query'> &
  InputPart<C['body'], 'body'> &
  InputPart<C['headers'], 'headers'>;

type Answer<R> = R extends z.ZodType
  ? z.output<R>
  : R extends { content: { 'application/json': { schema: infer S } } }
    ? S extends z.ZodType
      ? z.output<S>
      : never
    : Response;

/** What a route answers on success: its JSON, or the Response itself for streams and files. */
export type ResponseOf<C extends RouteContract> = {
  [S in keyof C['response']]: S extends 200 | 201 | 202 ? Answer<C['response'][S]> : never;
}[keyof C['response']];

type Args<C extends RouteContract> =
  object extends RequestOf<C> ? [request?: RequestOf<C>] : [request: RequestOf<C>];

type RouteMethods = {
  [N in RouteName]: (...args: Args<Routes[N]>) => Promise<ResponseOf<Routes[N]>>;
};

export interface AosClientOptions {
  /** The server, e.g. http://127.0.0.1:8080; absent, paths are relative (the console). */
  baseUrl?: string;
  /** The API key, or a function giving the current one. */
  apiKey?: string | (() => string | null | undefined);
  /** Called on every 401 (the key was revoked, or signed out elsewhere). */
  onUnauthenticated?: () => void;
  fetch?: typeof fetch;
}

interface AnyRequest {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, unknown>;
}

function pathOf(contract: RouteContract, params: Record<string, unknown> = {}): string {
  return contract.url.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(String(params[name] ?? '')));
}

function searchOf(query: Record<string, unknown> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function errorOf(response: Response): Promise<AosError> {
  const fallback = new AosError(response.status, 'HTTP_ERROR', `${response.status} ${response.statusText}`);
  try {
    const { error } = (await response.json()) as Partial<ErrorBody>;
    if (!error?.code) return fallback;
    return new AosError(response.status, error.code, error.message ?? fallback.message, error.details);
  } catch {
    return fallback;
  }
}

class Client {
  readonly #options: AosClientOptions;

  constructor(options: AosClientOptions = {}) {
    this.#options = options;
    for (const [name, contract] of Object.entries(routes) as [RouteName, RouteContract][]) {
      Object.defineProperty(this, name, {
        value: (request?: AnyRequest) => this.#json(contract, request),
        enumerable: false,
      });
    }
  }

  /** The route's Response as it came (streams, CSV, files); a failure is still an AosError. */
  raw<N extends RouteName>(name: N, ...args: Args<Routes[N]>): Promise<Response> {
    return this.#send(routes[name], args[0] as AnyRequest | undefined);
  }

  async #json(contract: RouteContract, request?: AnyRequest): Promise<unknown> {
    const response = await this.#send(contract, request);
    if (!(response.headers.get('content-type') ?? '').includes('json')) return response;
    return response.json();
  }

  async #send(contract: RouteContract, request: AnyRequest = {}): Promise<Response> {
    const { baseUrl = '', apiKey, onUnauthenticated, fetch: fetchImpl = fetch } = this.#options;
    const key = typeof apiKey === 'function' ? apiKey() : apiKey;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {}))
      if (value !== undefined) headers[name] = String(value);
    if (key) headers.authorization = `Bearer ${key}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const url = `${baseUrl.replace(/\/$/, '')}${pathOf(contract, request.params)}${searchOf(request.query)}`;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: contract.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
    } catch (error) {
      throw new AosError(
        0,
        'NETWORK',
        `cannot reach AOS${baseUrl ? ` at ${baseUrl}` : ''}: ${(error as Error).message}`,
      );
    }
    if (response.ok) return response;
    if (response.status === 401) onUnauthenticated?.();
    throw await errorOf(response);
  }
}

/** `new AosClient({baseUrl, apiKey})`: one typed method per route (see contracts/index.ts). */
export type AosClient = Client & RouteMethods;
export const AosClient = Client as new (options?: AosClientOptions) => AosClient;
