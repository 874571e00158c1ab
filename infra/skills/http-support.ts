// What http_call and the LLM adapter share: reading a body under a size cap, Retry-After,
// and mapping HTTP statuses and network errors onto the error taxonomy.
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../../domain/errors.ts';
import { ForbiddenAddressError } from './address-guard.ts';
import { failure, type SkillFailure } from './registry.ts';

export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

export class ResponseTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the response is larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * Reads a streamed body, destroying the stream (which aborts the request) as soon as it
 * passes `limit` bytes. A Content-Length above the limit is refused before reading anything.
 */
export async function readBodyCapped(
  body: Readable,
  limit: number,
  contentLength: string | string[] | undefined,
): Promise<Buffer> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : Number.NaN;
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    throw new ResponseTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buffer.length;
    if (total > limit) {
      body.destroy();
      throw new ResponseTooLargeError(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** The code of a non-2xx status (2xx is not a failure and must not be passed). */
export function errorCodeForStatus(status: number): ErrorCode {
  if (status === 429) return 'RATE_LIMITED';
  // 408 Request Timeout and 504 Gateway Timeout: the call took too long somewhere.
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status >= 500) return 'HTTP_5XX';
  // 4xx, and 1xx/3xx that reach us (redirects are not followed): retrying cannot help.
  return 'HTTP_4XX';
}

const dnsCodes = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const timeoutCodes = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** undici refusing the request as given (bad header, unsupported body): the input's fault. */
const invalidRequestCodes = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_URL',
]);
const connectionFailureCodes = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPROTO',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_INFO',
]);

function errorCodesOf(error: unknown, depth = 0): string[] {
  if (depth > 4 || error === null || typeof error !== 'object') return [];
  const codes: string[] = [];
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') codes.push(code);
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) codes.push(...errorCodesOf(cause, depth + 1));
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner)) for (const item of inner) codes.push(...errorCodesOf(item, depth + 1));
  return codes;
}

function findForbidden(error: unknown, depth = 0): ForbiddenAddressError | undefined {
  if (error instanceof ForbiddenAddressError) return error;
  if (depth > 4 || error === null || typeof error !== 'object') return undefined;
  const cause = (error as { cause?: unknown }).cause;
  const found = cause === undefined ? undefined : findForbidden(cause, depth + 1);
  if (found) return found;
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner)) {
    for (const item of inner) {
      const match = findForbidden(item, depth + 1);
      if (match) return match;
    }
  }
  return undefined;
}

/**
 * A failed request as an outcome. Returns undefined for an error that is not a network or
 * protocol failure (a bug), which the caller rethrows so the registry reports INTERNAL.
 */
export function outcomeForRequestError(error: unknown, target: string): SkillFailure | undefined {
  if (error instanceof ResponseTooLargeError) {
    return failure('RESPONSE_TOO_LARGE', `${target}: ${error.message}`);
  }
  const forbidden = findForbidden(error);
  if (forbidden) return failure('LOCAL_URL_FORBIDDEN', `${target}: ${forbidden.message}`);
  const codes = errorCodesOf(error);
  const message = error instanceof Error ? error.message || error.name : String(error);
  if (codes.includes('ECONNREFUSED')) return failure('CONNECTION_REFUSED', `${target}: connection refused`);
  if (codes.some((code) => dnsCodes.has(code))) {
    return failure('DNS_FAILURE', `${target}: the host name did not resolve (${message})`);
  }
  if (codes.some((code) => timeoutCodes.has(code))) return failure('TIMEOUT', `${target}: ${message}`);
  if (codes.some((code) => invalidRequestCodes.has(code))) {
    return failure('INVALID_INPUT', `${target}: the request cannot be sent (${message})`);
  }
  // The connection failed or broke some other way (reset, unreachable, TLS, a malformed
  // response): transient as far as we can tell, and the closest code is a refused connection.
  const connectionFailure = codes.find(
    (code) =>
      connectionFailureCodes.has(code) ||
      code.startsWith('HPE_') ||
      code.startsWith('ERR_TLS_') ||
      code.startsWith('ERR_SSL_') ||
      /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code),
  );
  if (connectionFailure !== undefined) {
    return failure(
      'CONNECTION_REFUSED',
      `${target}: the connection failed (${connectionFailure}: ${message})`,
    );
  }
  return undefined;
}

/** The first `max` characters of a body, for an error message. */
export function snippet(body: Buffer, max = 200): string {
  const text = body.subarray(0, max * 4).toString('utf8');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
