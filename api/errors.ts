// One error shape for every route: {error: {code, message, details}}.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorBody } from '../contracts/route.ts';
import { isDomainError } from '../domain/domain-error.ts';
import {
  ConcurrencyError,
  EventIdConflictError,
  InvalidInputError,
  StoreUnavailableError,
} from '../domain/store/store-errors.ts';
import { QueryParameterError } from '../readmodels/query-parameter-error.ts';
import { RequestValidationError } from './contract-route.ts';

export type { ErrorBody };

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const fastifyErrorCodes: Record<number, string> = {
  400: 'INVALID_INPUT',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** The status and body any error answers with. */
export function classify(error: unknown): { status: number; body: ErrorBody } {
  const as = (status: number, code: string, message: string, details?: unknown) => ({
    status,
    body: { error: { code, message, ...(details === undefined ? {} : { details }) } },
  });
  if (error instanceof HttpError) return as(error.statusCode, error.code, error.message, error.details);
  if (error instanceof RequestValidationError) {
    // zod's issues as they are, less the input they echo (it may be large, or a secret).
    const issues = error.zodError.issues.map(({ input: _, ...issue }) => issue);
    return as(400, 'INVALID_INPUT', error.message, { in: error.part, issues });
  }
  if (isDomainError(error)) return as(error.httpStatus, error.code, error.message, error.details);
  if (error instanceof QueryParameterError) {
    return as(400, 'INVALID_INPUT', error.message, { parameter: error.parameter });
  }
  if (error instanceof InvalidInputError)
    return as(400, 'INVALID_INPUT', error.message, { field: error.field });
  if (error instanceof ConcurrencyError) {
    return as(409, 'VERSION_CONFLICT', error.message, {
      streamId: error.streamId,
      expectedVersion: error.expectedVersion,
      actualVersion: error.actualVersion,
    });
  }
  if (error instanceof EventIdConflictError) return as(409, 'EVENT_ID_CONFLICT', error.message);
  if (error instanceof StoreUnavailableError)
    return as(503, 'STORE_UNAVAILABLE', 'the event store is unreachable');
  const fastifyError = error as FastifyError;
  if (fastifyError.statusCode && fastifyError.statusCode < 500) {
    // fastify's own refusals (unparsable JSON, body over the limit, wrong content type…)
    // answer with our codes; fastify's code stays in the details.
    const status = fastifyError.statusCode;
    const code = fastifyErrorCodes[status] ?? 'BAD_REQUEST';
    return as(
      status,
      code,
      fastifyError.message,
      fastifyError.code ? { reason: fastifyError.code } : undefined,
    );
  }
  return as(500, 'INTERNAL', 'internal error');
}

/**
 * Fastify's `frameworkErrors` option: refusals raised before routing (a URL that does not
 * decode, a path parameter over the length limit) in the same shape as everything else.
 */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  const { status, body } = classify(error);
  void reply.status(status).send(body);
}

const clientErrors: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request took too long' },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    message: 'the request headers are too large',
  },
};

/**
 * Fastify's `clientErrorHandler` option: requests Node's HTTP parser refuses (a NUL in a
 * header, a space in the path…) never reach fastify; they are answered here, in the same
 * shape, with the parser's reason, and the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = clientErrors[error.code ?? ''] ?? {
    status: 400,
    code: 'INVALID_INPUT',
    message: `the request is not valid HTTP: ${error.message}`,
  };
  const body = JSON.stringify({
    error: { code: known.code, message: known.message, details: { reason: error.code ?? 'unknown' } },
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function errorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = classify(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
  });
}
