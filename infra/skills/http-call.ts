// http_call: one HTTP request through undici, guarded against SSRF, with a response size
// cap, an idempotency key for anything that is not a safe method, and the status and network
// errors mapped onto the error taxonomy. Redirects are not followed: a 3xx is a failure that
// names its Location, so a redirect can never lead past the address guard or the policy's
// host rules.
import { Agent, type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { builtinDefaultRetry, builtinSideEffecting } from '../../domain/skill-catalog.ts';
import { type AddressGuardOptions, createAddressGuard } from './address-guard.ts';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  errorCodeForStatus,
  outcomeForRequestError,
  parseRetryAfter,
  ResponseTooLargeError,
  readBodyCapped,
  snippet,
} from './http-support.ts';
import { failure, type SkillDescriptor } from './registry.ts';

export const httpMethods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const safeMethods = new Set<string>(['GET', 'HEAD', 'OPTIONS']);
/** No single response may be allowed more than this, whatever the input asks. */
export const MAX_RESPONSE_BYTES_LIMIT = 64 * 1_048_576;

export const httpCallInputSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an absolute http:// or https:// URL' }),
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(z.enum(httpMethods))
    .default('GET'),
  headers: z.record(z.string().min(1), z.string()).optional(),
  /** A string is sent as is; anything else as JSON. */
  body: z.json().optional(),
  /** Required for POST, PUT, PATCH and DELETE; sent as the Idempotency-Key header. */
  idempotencyKey: z.string().min(1).max(255).optional(),
  /** A deadline of the request's own, within the call's. */
  timeoutMs: z.int().positive().max(3_600_000).optional(),
  maxResponseBytes: z.int().positive().max(MAX_RESPONSE_BYTES_LIMIT).optional(),
});
export type HttpCallInput = z.infer<typeof httpCallInputSchema>;

export const httpCallOutputSchema = z.strictObject({
  status: z.int().min(200).max(299),
  /** Lower-case names; repeated headers joined with ", "; set-cookie is dropped. */
  headers: z.record(z.string(), z.string()),
  /** Parsed when the content type is JSON, text otherwise, null for an empty body. */
  body: z.json().nullable(),
});
export type HttpCallOutput = z.infer<typeof httpCallOutputSchema>;

export interface HttpCallOptions extends AddressGuardOptions {
  /** Default cap on a response body; 1 MiB. */
  maxResponseBytes?: number;
  userAgent?: string;
  /** Idle keep-alive connections are closed after this; 4 s. */
  keepAliveTimeoutMs?: number;
}

export interface HttpCallSkill {
  descriptor: SkillDescriptor<HttpCallInput, HttpCallOutput>;
  /** The guarded connection pool; close it when shutting down. */
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

const JSON_TYPE = /^(application|text)\/([\w.-]+\+)?json\s*(;|$)/i;

function responseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || key === 'set-cookie') continue;
    result[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

function decodeBody(
  raw: Buffer,
  contentType: string | undefined,
): z.infer<typeof httpCallOutputSchema>['body'] {
  if (raw.length === 0) return null;
  const text = raw.toString('utf8');
  if (contentType !== undefined && JSON_TYPE.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      // A server that says JSON and sends something else: hand over the text.
      return text;
    }
  }
  return text;
}

class OwnTimeout extends Error {
  constructor(readonly ms: number) {
    super(`the request did not finish within its timeoutMs of ${ms} ms`);
    this.name = 'OwnTimeout';
  }
}

export function createHttpCallSkill(options: HttpCallOptions = {}): HttpCallSkill {
  const guard = createAddressGuard(options);
  const defaultCap = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = options.userAgent ?? 'aos-http-call/1.0.0';
  const dispatcher = new Agent({
    connect: { lookup: guard.lookup },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
  });

  const descriptor: SkillDescriptor<HttpCallInput, HttpCallOutput> = {
    name: 'http_call',
    version: '1.0.0',
    description: 'One HTTP(S) request; JSON responses parsed.',
    inputSchema: httpCallInputSchema,
    outputSchema: httpCallOutputSchema,
    costModel:
      'No provider charge (no usage). Estimators: v1 and v2 both 0 micros and 500 ms per call (domain/estimate.ts).',
    defaultRetry: builtinDefaultRetry('http_call'),
    sideEffecting: (input) => builtinSideEffecting('http_call', input),

    async invoke(input, context) {
      const url = new URL(input.url);
      const target = `${input.method} ${url.origin}${url.pathname}`;
      const refused = guard.checkHost(url.hostname);
      if (refused) return failure('LOCAL_URL_FORBIDDEN', `${target}: ${refused.message}`);

      const headers: Record<string, string> = { 'user-agent': userAgent };
      for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
      const headerKey = headers['idempotency-key'];
      if (
        input.idempotencyKey !== undefined &&
        headerKey !== undefined &&
        headerKey !== input.idempotencyKey
      ) {
        return failure('INVALID_INPUT', 'idempotencyKey and the Idempotency-Key header differ');
      }
      const idempotencyKey = input.idempotencyKey ?? headerKey;
      if (idempotencyKey === undefined && !safeMethods.has(input.method)) {
        return failure(
          'MISSING_IDEMPOTENCY_KEY',
          `${input.method} changes something and needs an idempotencyKey, so a retried call is deduplicated`,
        );
      }
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;

      let body: string | undefined;
      if (typeof input.body === 'string') body = input.body;
      else if (input.body !== undefined) {
        body = JSON.stringify(input.body);
        headers['content-type'] ??= 'application/json';
      }

      const signals = [context.signal];
      let timer: NodeJS.Timeout | undefined;
      if (input.timeoutMs !== undefined) {
        const own = new AbortController();
        const ms = input.timeoutMs;
        timer = setTimeout(() => own.abort(new OwnTimeout(ms)), ms);
        signals.push(own.signal);
      }
      const signal = signals.length === 1 ? context.signal : AbortSignal.any(signals);
      const cap = input.maxResponseBytes ?? defaultCap;

      try {
        const response = await request(url, {
          method: input.method,
          headers,
          body,
          signal,
          dispatcher,
        });
        const contentType = response.headers['content-type'];
        const raw = await readBodyCapped(response.body, cap, response.headers['content-length']).catch(
          (error: unknown) => {
            if (response.statusCode >= 200 && response.statusCode < 300) throw error;
            // An error page over the cap still fails by its status.
            if (error instanceof ResponseTooLargeError) return Buffer.alloc(0);
            throw error;
          },
        );
        const status = response.statusCode;
        if (status >= 200 && status < 300) {
          return {
            ok: true,
            output: {
              status,
              headers: responseHeaders(response.headers),
              body: decodeBody(raw, typeof contentType === 'string' ? contentType : undefined),
            },
          };
        }
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], context.now());
        const location = response.headers.location;
        const detail =
          status >= 300 && status < 400
            ? `redirects are not followed${location === undefined ? '' : ` (Location: ${String(location)})`}`
            : snippet(raw);
        return failure(
          errorCodeForStatus(status),
          `${target} answered ${status}${detail ? `: ${detail}` : ''}`,
          retryAfterMs === undefined ? { httpStatus: status } : { retryAfterMs, httpStatus: status },
        );
      } catch (error) {
        if (signal.aborted) {
          const reason: unknown = signal.reason;
          if (reason instanceof OwnTimeout) return failure('TIMEOUT', `${target}: ${reason.message}`);
          // The registry aborted (its timeout, or cancellation) and has already answered.
          return failure('TIMEOUT', `${target}: aborted`);
        }
        const outcome = outcomeForRequestError(error, target);
        if (outcome) return outcome;
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  return { descriptor, dispatcher, close: () => dispatcher.close() };
}
