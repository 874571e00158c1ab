// The failure catalog AOS ships with (recorded as `aos-default-1` at first start). Every error
// code a skill can end with has an entry here (tests/domain/failure-catalog.test.ts fails when
// one does not); specific entries (a skill, an HTTP status, a message) come before the generic
// one of their code. Nothing here is automatic: a recovery waits for a person to accept it.
import type { CatalogEntry, FailureCatalog } from './failure-catalog.ts';

const retryLater = { mode: 'retry_later', params: {} } as const;
const abort = { mode: 'abort', params: {} } as const;

const transient = (id: string, errorCode: CatalogEntry['match']['errorCode'], description: string) =>
  ({
    id,
    match: { errorCode },
    category: 'TRANSIENT',
    retry: true,
    recovery: retryLater,
    confidence: 0.8,
    automatic: false,
    description,
  }) as const satisfies CatalogEntry;

const fatal = (
  id: string,
  errorCode: CatalogEntry['match']['errorCode'],
  category: CatalogEntry['category'],
  description: string,
) =>
  ({
    id,
    match: { errorCode },
    category,
    retry: false,
    recovery: abort,
    confidence: 0.9,
    automatic: false,
    description,
  }) as const satisfies CatalogEntry;

export const defaultFailureCatalog: FailureCatalog = {
  version: 'aos-default-1',
  entries: [
    {
      id: 'llm.context_too_long',
      match: {
        errorCode: 'HTTP_4XX',
        skill: 'llm_invoke',
        messagePattern: 'context.length|maximum context|too many tokens|max_tokens',
      },
      category: 'RESOURCE',
      retry: false,
      recovery: { mode: 'reduce_tokens', params: { factor: 0.5 } },
      confidence: 0.7,
      automatic: false,
      description: 'the prompt and answer do not fit the model: ask for fewer tokens',
    },
    {
      id: 'llm.unauthorized',
      match: { errorCode: 'HTTP_4XX', skill: 'llm_invoke', httpStatus: 401 },
      category: 'PERMISSION',
      retry: false,
      recovery: { mode: 'ask_human', params: {} },
      confidence: 0.9,
      automatic: false,
      description: "the provider refused the key: someone must fix the installation's credentials",
    },
    {
      id: 'llm.response_too_large',
      match: { errorCode: 'RESPONSE_TOO_LARGE', skill: 'llm_invoke' },
      category: 'PERMANENT',
      retry: false,
      recovery: { mode: 'reduce_tokens', params: { factor: 0.5 } },
      confidence: 0.6,
      automatic: false,
      description: 'the answer passed the response limit: ask for fewer tokens',
    },
    transient('timeout', 'TIMEOUT', 'the call did not finish in time; it may next time'),
    transient('dns', 'DNS_FAILURE', 'the name did not resolve; often passing'),
    transient('connection_refused', 'CONNECTION_REFUSED', 'nothing listened; the service may be restarting'),
    transient('http_5xx', 'HTTP_5XX', 'the server failed; retried with backoff'),
    transient('worker_lost', 'WORKER_LOST', 'the executor holding the call stopped; the call is made again'),
    transient('internal', 'INTERNAL', 'an unexpected error in the runtime; retried'),
    transient(
      'circuit_open',
      'CIRCUIT_OPEN',
      "the target's circuit breaker is open: retried when it half-opens",
    ),
    {
      id: 'rate_limited',
      match: { errorCode: 'RATE_LIMITED' },
      category: 'RESOURCE',
      retry: true,
      recovery: retryLater,
      confidence: 0.9,
      automatic: false,
      description: 'over the provider’s rate: retried after its Retry-After',
    },
    fatal('http_4xx', 'HTTP_4XX', 'PERMANENT', 'the server refused the request as it is'),
    fatal('response_too_large', 'RESPONSE_TOO_LARGE', 'PERMANENT', 'the answer passed the response limit'),
    fatal('budget_exceeded', 'BUDGET_EXCEEDED', 'RESOURCE', 'no budget left for the call'),
    fatal('permission_denied', 'PERMISSION_DENIED', 'PERMISSION', 'the key may not do this'),
    fatal('policy_denied', 'POLICY_DENIED', 'PERMISSION', 'the policy refused the call'),
    fatal('invalid_input', 'INVALID_INPUT', 'VALIDATION', 'the input is wrong; the plan must change'),
    fatal('schema_validation', 'SCHEMA_VALIDATION_FAILED', 'VALIDATION', 'the input does not fit the skill'),
    fatal('local_url', 'LOCAL_URL_FORBIDDEN', 'PERMISSION', 'the URL names a local address'),
    fatal('missing_idempotency_key', 'MISSING_IDEMPOTENCY_KEY', 'VALIDATION', 'a side effect needs a key'),
    fatal('skill_not_found', 'SKILL_NOT_FOUND', 'VALIDATION', 'no such skill or version'),
    fatal('child_run_failed', 'CHILD_RUN_FAILED', 'PERMANENT', 'the child run did not succeed'),
    fatal('child_limit', 'CHILD_LIMIT_EXCEEDED', 'RESOURCE', 'too deep or too many child runs'),
    fatal('cancelled', 'CANCELLED', 'PERMANENT', 'the run was cancelled'),
    fatal('not_found', 'NOT_FOUND', 'VALIDATION', 'something the call named does not exist'),
    fatal('conflict', 'CONFLICT', 'PERMANENT', 'the state changed under the call'),
  ],
};
