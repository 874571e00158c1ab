// The one error taxonomy of AOS: every failure a skill, a command or the runtime can
// report has a code, a category, whether retrying can help, and the HTTP status the API
// answers with. The `legacy` names are the original AOS's, for compatibility routes.

export const errorCategories = ['TRANSIENT', 'PERMANENT', 'RESOURCE', 'PERMISSION', 'VALIDATION'] as const;
export type ErrorCategory = (typeof errorCategories)[number];

interface ErrorCodeSpec {
  category: ErrorCategory;
  retryable: boolean;
  httpStatus: number;
  legacy: string;
}

export const errorCodes = {
  TIMEOUT: { category: 'TRANSIENT', retryable: true, httpStatus: 504, legacy: 'ERR_TIMEOUT' },
  DNS_FAILURE: { category: 'TRANSIENT', retryable: true, httpStatus: 502, legacy: 'ERR_DNS_FAILURE' },
  CONNECTION_REFUSED: {
    category: 'TRANSIENT',
    retryable: true,
    httpStatus: 502,
    legacy: 'ERR_CONNECTION_REFUSED',
  },
  HTTP_4XX: { category: 'PERMANENT', retryable: false, httpStatus: 502, legacy: 'ERR_HTTP_4XX' },
  HTTP_5XX: { category: 'TRANSIENT', retryable: true, httpStatus: 502, legacy: 'ERR_HTTP_5XX' },
  RATE_LIMITED: {
    category: 'RESOURCE',
    retryable: true,
    httpStatus: 429,
    legacy: 'ERR_HTTP_429_RATE_LIMITED',
  },
  BUDGET_EXCEEDED: { category: 'RESOURCE', retryable: false, httpStatus: 422, legacy: 'ERR_BUDGET_EXCEEDED' },
  PERMISSION_DENIED: {
    category: 'PERMISSION',
    retryable: false,
    httpStatus: 403,
    legacy: 'ERR_PERMISSION_DENIED',
  },
  POLICY_DENIED: { category: 'PERMISSION', retryable: false, httpStatus: 422, legacy: 'ERR_BLOCKED_HOST' },
  INVALID_INPUT: {
    category: 'VALIDATION',
    retryable: false,
    httpStatus: 400,
    legacy: 'ERR_VALIDATION_FAILED',
  },
  SCHEMA_VALIDATION_FAILED: {
    category: 'VALIDATION',
    retryable: false,
    httpStatus: 400,
    legacy: 'ERR_VALIDATION_FAILED',
  },
  LOCAL_URL_FORBIDDEN: {
    category: 'PERMISSION',
    retryable: false,
    httpStatus: 403,
    legacy: 'ERR_BLOCKED_HOST',
  },
  MISSING_IDEMPOTENCY_KEY: {
    category: 'VALIDATION',
    retryable: false,
    httpStatus: 400,
    legacy: 'ERR_MISSING_IDEMPOTENCY_KEY',
  },
  RESPONSE_TOO_LARGE: {
    category: 'PERMANENT',
    retryable: false,
    httpStatus: 502,
    legacy: 'ERR_RESPONSE_TOO_LARGE',
  },
  SKILL_NOT_FOUND: {
    category: 'VALIDATION',
    retryable: false,
    httpStatus: 400,
    legacy: 'ERR_SKILL_NOT_FOUND',
  },
  /** A child run (agent_invoke) ended other than succeeded. */
  CHILD_RUN_FAILED: {
    category: 'PERMANENT',
    retryable: false,
    httpStatus: 422,
    legacy: 'ERR_CHILD_RUN_FAILED',
  },
  /** A child run would pass the tree's depth or the run's fan-out limit. */
  CHILD_LIMIT_EXCEEDED: {
    category: 'RESOURCE',
    retryable: false,
    httpStatus: 422,
    legacy: 'ERR_CHILD_LIMIT_EXCEEDED',
  },
  WORKER_LOST: { category: 'TRANSIENT', retryable: true, httpStatus: 503, legacy: 'ERR_WORKER_LOST' },
  /** The target's circuit breaker is open: the call was not made; retried once it half-opens. */
  CIRCUIT_OPEN: { category: 'TRANSIENT', retryable: true, httpStatus: 503, legacy: 'ERR_CIRCUIT_OPEN' },
  CANCELLED: { category: 'PERMANENT', retryable: false, httpStatus: 409, legacy: 'ERR_CANCELLED' },
  /**
   * The emergency stop aborted the call in flight: not the target's failure, and not counted
   * against the step's attempts; the step is retried once the stop is lifted.
   */
  EMERGENCY_STOP: { category: 'TRANSIENT', retryable: true, httpStatus: 503, legacy: 'ERR_EMERGENCY_STOP' },
  INTERNAL: { category: 'TRANSIENT', retryable: true, httpStatus: 500, legacy: 'ERR_INTERNAL' },
  // Command refusals about state rather than input: an unknown approval or reservation,
  // a command against a run that has already ended. Retrying the same command cannot help.
  NOT_FOUND: { category: 'VALIDATION', retryable: false, httpStatus: 404, legacy: 'ERR_NOT_FOUND' },
  CONFLICT: { category: 'PERMANENT', retryable: false, httpStatus: 409, legacy: 'ERR_CONFLICT' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;
export const errorCodeNames = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]];

export function describeError(code: ErrorCode): ErrorCodeSpec {
  return errorCodes[code];
}

/** The original AOS name for an HTTP failure, e.g. ERR_HTTP_429_RATE_LIMITED. */
export function legacyHttpErrorName(status: number, reason: string): string {
  return `ERR_HTTP_${status}_${reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}
