// OpenAPI at /docs (UI) and /docs/json. The schemas are zod, turned into JSON Schema with
// zod 4's z.toJSONSchema, and attached when the document is generated (@fastify/swagger's
// `transform`), never to the routes: fastify neither validates nor serialises with them,
// so the handlers keep validating with parseInput and every error keeps the one shape.
// A route missing from the table below is still listed, with its auth and error responses.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { submitRunRequestSchema } from '../commands/run-commands.ts';
import { createKeyBody } from './auth/key-routes.ts';
import { type Action, actions, rolesThatCan } from './auth/permissions.ts';
import { consolePrefix } from './routes/console.ts';

export const docsPrefix = '/docs';

type Schema = z.ZodType;

interface RouteDoc {
  summary: string;
  tags: string[];
  /** The permission the route checks; absent for public routes. */
  action?: Action;
  params?: Schema;
  querystring?: Schema;
  headers?: Schema;
  body?: Schema;
  /** Success responses by status. */
  responses: Record<number, { description: string; schema?: Schema; contentType?: string }>;
  /** False for the routes outside the rate limit. */
  rateLimited?: false;
  /** Error statuses beyond the ones every authenticated route can answer. */
  errors?: number[];
}

// ---- shapes ------------------------------------------------------------------------------

const instant = z.iso.datetime({ offset: true });
const day = z.iso.date();
const cursor = z.string().max(512).describe('opaque keyset cursor from next_cursor');
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const page = <T extends Schema>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });
const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/)
  .describe('the same key with the same body answers the first result; with another body, 409');

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable: INVALID_INPUT, NOT_FOUND, RATE_LIMITED, …'),
      message: z.string(),
      details: z.unknown().optional().describe('zod issues with their paths for INVALID_INPUT'),
    }),
  })
  .describe('The one error shape of every route');
const errorRef = { $ref: '#/components/schemas/Error' };

const errorDescriptions: Record<number, string> = {
  400: 'invalid input (nothing written); details.issues lists each problem with its path',
  401: 'no API key, a malformed Authorization header, or an unknown or revoked key',
  403: "the key's role does not allow this",
  404: "no such resource for the key's tenant (another tenant's resource is a 404 too)",
  409: 'a version conflict, or an Idempotency-Key reused with another request',
  413: 'the body is larger than AOS_MAX_EVENT_BYTES',
  415: 'the body is not JSON',
  429: 'too many requests for this API key (AOS_RATE_LIMIT_PER_MINUTE); see retry-after',
  503: 'the event store is unreachable',
};

const keyView = z.object({
  keyId: z.string(),
  tenant: z.string(),
  role: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
const runParams = z.strictObject({ id: z.uuid() });
const runReceipt = z.object({
  runId: z.uuid(),
  status: z.string(),
  streamId: z.string(),
  position: z.string().describe('global position of the last event written'),
});
const attemptView = z.object({
  attempt: z.int(),
  outcome: z.string().nullable(),
  errorCode: z.string().nullable().optional(),
  latencyMs: z.number().nullable().optional(),
  costMicros: z.int().optional(),
});
const runDetail = z.object({
  runId: z.uuid(),
  tenantId: z.string(),
  agentId: z.string(),
  status: z.string(),
  steps: z.array(
    z.object({ index: z.int(), skill: z.string(), status: z.string(), attempts: z.array(attemptView) }),
  ),
  costMicros: z.int(),
  estimate: z.object({ v1: z.unknown(), v2: z.unknown() }).nullable(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const recordedEvent = z.object({
  eventId: z.uuid(),
  streamId: z.string(),
  streamPosition: z.int(),
  globalPosition: z.string(),
  type: z.string(),
  schemaVersion: z.int(),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  recordedAt: z.string(),
  prevHash: z.string(),
  hash: z.string(),
});
const runSummary = z.object({
  runId: z.uuid(),
  agentId: z.string(),
  status: z.string(),
  costMicros: z.int(),
  attempts: z.int(),
  steps: z.int(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const statusHistoryRow = z.object({
  id: z.string(),
  entity_type: z.string(),
  entity_id: z.string(),
  old_status: z.string().nullable(),
  new_status: z.string(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  reason: z.string().nullable(),
  tenant_id: z.string(),
  correlation_id: z.string().nullable(),
  metadata: z.unknown(),
  created_at: z.string(),
  sequence: z.int(),
  global_position: z.string(),
  event_id: z.uuid(),
});
const statusHistoryFilters = {
  entity_type: z.enum(['run', 'approval', 'budget_day']).optional(),
  entity_id: z.string().max(256).optional(),
  actor_type: z.enum(['system', 'user', 'agent', 'scheduler']).optional(),
  new_status: z.string().max(32).optional(),
  start_time: instant.optional(),
  end_time: instant.optional(),
};
const statusHistoryStats = z.object({
  total_records: z.int(),
  records_by_entity_type: z.record(z.string(), z.int()),
  records_by_actor_type: z.record(z.string(), z.int()),
  records_by_status: z.record(z.string(), z.int()),
  oldest_record: z.string().nullable(),
  newest_record: z.string().nullable(),
  time_range_days: z.number(),
});
const offsetPage = z.object({
  items: z.array(statusHistoryRow),
  total: z.int(),
  limit: z.int(),
  offset: z.int(),
  has_more: z.boolean(),
});
const divergenceQuery = z.strictObject({
  start_date: instant.optional(),
  end_date: instant.optional(),
  days: z.coerce.number().int().min(1).max(90).default(7),
  source: z.enum(['estimators', 'actual']).default('actual'),
});
const divergenceReport = z.object({
  start_date: z.string(),
  end_date: z.string(),
  source: z.string(),
  sample_count: z.int(),
  delta_p50: z.number(),
  delta_p90: z.number(),
  kl_divergence: z.number(),
  outlier_count: z.int(),
  fail_ratio: z.number(),
  matching_rate: z.number(),
  drift_alert: z.boolean(),
  detailed_samples: z.array(
    z.object({
      timestamp: z.string(),
      input_hash: z.string(),
      baseline_cost: z.number(),
      compared_cost: z.number(),
      cost_delta: z.number(),
      drift_score: z.number(),
      verdict: z.enum(['match', 'minor', 'major', 'mismatch']),
    }),
  ),
});
const projectionStatus = z.object({
  name: z.string(),
  version: z.int(),
  checkpoint: z.string(),
  behindEvents: z.int(),
  behindSeconds: z.number(),
});

// ---- routes ------------------------------------------------------------------------------

const ok = (description: string, schema?: Schema) => ({
  200: { description, ...(schema ? { schema } : {}) },
});

export const routeDocs: Record<string, RouteDoc> = {
  'GET /healthz': {
    summary: 'Liveness: answers while the process runs',
    tags: ['ops'],
    responses: ok('alive', z.object({ status: z.literal('ok') })),
  },
  'GET /readyz': {
    summary: 'Readiness: answers 200 only while the event store answers',
    tags: ['ops'],
    responses: ok('ready', z.object({ status: z.literal('ready') })),
    errors: [503],
  },
  'GET /metrics': {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['ops'],
    rateLimited: false,
    responses: { 200: { description: 'metrics', schema: z.string(), contentType: 'text/plain' } },
  },
  'POST /v1/admin/keys': {
    summary: 'Create an API key for a tenant and role; the key is shown once',
    tags: ['keys'],
    action: 'manage_keys',
    body: createKeyBody,
    responses: { 201: { description: 'created', schema: keyView.extend({ key: z.string() }) } },
    errors: [400],
  },
  'GET /v1/admin/keys': {
    summary: 'List API keys (never the keys themselves)',
    tags: ['keys'],
    action: 'manage_keys',
    querystring: z.strictObject({
      tenant: z.string().optional(),
      include_revoked: z.enum(['true', 'false']).optional(),
    }),
    responses: ok('keys', z.object({ items: z.array(keyView) })),
    errors: [400],
  },
  'DELETE /v1/admin/keys/:keyId': {
    summary: 'Revoke an API key',
    tags: ['keys'],
    action: 'manage_keys',
    params: z.strictObject({ keyId: z.string().min(1).max(100) }),
    responses: ok('revoked', keyView),
    errors: [400, 404],
  },
  'GET /v1/whoami': {
    summary: "The caller's key: its tenant, role and the permissions the role has",
    tags: ['keys'],
    action: 'read',
    responses: ok(
      'the key',
      z.object({
        keyId: z.string(),
        tenantId: z.string(),
        role: z.string(),
        permissions: z.array(z.enum(actions)),
      }),
    ),
  },
  'GET /v1/admin/projections': {
    summary: 'Projection versions, checkpoints and lag',
    tags: ['operations'],
    action: 'operate',
    responses: ok('projections', z.object({ items: z.array(projectionStatus) })),
  },
  'POST /v1/admin/projections/:name/rebuild': {
    summary: 'Empty a projection and re-fold it from the first event',
    tags: ['operations'],
    action: 'operate',
    params: z.strictObject({ name: z.string().max(64) }),
    responses: {
      202: { description: 'rebuilding', schema: z.object({ name: z.string(), rebuilding: z.boolean() }) },
    },
    errors: [400, 404],
  },
  'POST /v1/runs': {
    summary: 'Submit a run',
    tags: ['runs'],
    action: 'submit',
    headers: z.object({ 'idempotency-key': idempotencyKey.optional() }),
    body: submitRunRequestSchema,
    responses: {
      202: { description: 'queued', schema: runReceipt },
      200: { description: 'the same Idempotency-Key and body again: the first receipt', schema: runReceipt },
    },
    errors: [400, 409, 413],
  },
  'POST /v1/simulate': {
    summary: 'Estimate a plan (v1 and v2) and check it against policy; writes nothing',
    tags: ['runs'],
    action: 'read',
    body: submitRunRequestSchema,
    responses: ok(
      'estimate',
      z.object({
        estimate: z.object({ v1: z.unknown(), v2: z.unknown() }),
        withinBudget: z.boolean(),
        policy: z.object({ version: z.string(), hash: z.string() }),
        priceTable: z.object({ version: z.string(), hash: z.string() }),
        steps: z.array(
          z.object({ index: z.int(), skill: z.string(), known: z.boolean(), policy: z.unknown() }),
        ),
      }),
    ),
    errors: [400, 413],
  },
  'GET /v1/runs/:id': {
    summary: 'A run with its steps, attempts, costs and estimates',
    tags: ['runs'],
    action: 'read',
    params: runParams,
    responses: ok('the run', runDetail),
    errors: [404],
  },
  'GET /v1/runs/:id/events': {
    summary: "A run's recorded events, with their hashes",
    tags: ['runs'],
    action: 'read',
    params: runParams,
    querystring: z.strictObject({
      from: z.coerce.number().int().min(0).default(0),
      limit: limit(1000, 100),
    }),
    responses: ok('events', z.object({ runId: z.uuid(), events: z.array(recordedEvent), total: z.int() })),
    errors: [400, 404],
  },
  'POST /v1/runs/:id/cancel': {
    summary: 'Ask a run to stop',
    tags: ['runs'],
    action: 'cancel',
    params: runParams,
    headers: z.object({ 'idempotency-key': idempotencyKey.optional() }),
    body: z.strictObject({ reason: z.string().max(2000).default('cancelled by request') }),
    responses: {
      202: {
        description: 'cancellation requested',
        schema: z.object({ runId: z.uuid(), status: z.string(), cancelRequested: z.literal(true) }),
      },
    },
    errors: [400, 404, 409],
  },
  'POST /v1/runs/:id/approvals/:approvalId': {
    summary: 'Approve or reject a step waiting for approval',
    tags: ['runs'],
    action: 'approve',
    params: z.strictObject({ id: z.uuid(), approvalId: z.uuid() }),
    body: z.strictObject({
      decision: z.enum(['approve', 'reject']),
      comment: z.string().max(2000).optional(),
    }),
    responses: ok(
      'decided',
      z.object({ runId: z.uuid(), approvalId: z.uuid(), decision: z.string(), status: z.string() }),
    ),
    errors: [400, 404, 409],
  },
  'GET /v1/runs': {
    summary: 'List runs, newest first (keyset pagination)',
    tags: ['queries'],
    action: 'read',
    querystring: z.strictObject({
      status: z.string().max(32).optional(),
      agent: z.string().max(256).optional(),
      start_time: instant.optional(),
      end_time: instant.optional(),
      limit: limit(500, 50),
      cursor: cursor.optional(),
    }),
    responses: ok('a page of runs', page(runSummary)),
    errors: [400],
  },
  'GET /v1/status-history': {
    summary:
      'Status changes of runs, approvals and budget days; json pages, or all rows streamed as csv or jsonl',
    tags: ['queries'],
    action: 'read',
    querystring: z.strictObject({
      ...statusHistoryFilters,
      format: z.enum(['json', 'csv', 'jsonl']).default('json'),
      limit: limit(1000, 100),
      cursor: cursor.optional(),
    }),
    responses: ok('a page (json), or every matching row (csv, jsonl)', page(statusHistoryRow)),
    errors: [400],
  },
  'GET /v1/status-history/stats': {
    summary: 'Counts of status history records',
    tags: ['queries'],
    action: 'read',
    responses: ok('stats', statusHistoryStats),
  },
  'GET /v1/divergence': {
    summary: 'Cost divergence report: estimator v1 vs v2, or estimate vs charged',
    tags: ['queries'],
    action: 'read',
    querystring: divergenceQuery,
    responses: ok('the report', divergenceReport),
    errors: [400],
  },
  'GET /v1/divergence/daily': {
    summary: 'The divergence report per UTC day of the window (drift over time)',
    tags: ['queries'],
    action: 'read',
    querystring: divergenceQuery,
    responses: ok(
      'one report per day with samples, oldest first',
      z.object({
        start_date: z.string(),
        end_date: z.string(),
        source: z.string(),
        items: z.array(
          divergenceReport
            .omit({ detailed_samples: true, start_date: true, end_date: true, source: true })
            .extend({
              day: z.iso.date(),
            }),
        ),
      }),
    ),
    errors: [400],
  },
  'GET /v1/costs': {
    summary: 'Charged costs grouped by day, skill or model',
    tags: ['queries'],
    action: 'read',
    querystring: z.strictObject({
      group_by: z.enum(['day', 'skill', 'model']).default('day'),
      start_date: day.optional(),
      end_date: day.optional(),
    }),
    responses: ok(
      'costs',
      z.object({
        group_by: z.string(),
        items: z.array(
          z.object({
            charges: z.int(),
            chargedMicros: z.int(),
            computedMicros: z.int(),
            providerMicros: z.int(),
            estimateMicros: z.int(),
          }),
        ),
      }),
    ),
    errors: [400],
  },
  'GET /v1/policy-decisions': {
    summary: 'Policy decisions, newest first (keyset pagination)',
    tags: ['queries'],
    action: 'read',
    querystring: z.strictObject({
      run_id: z.string().max(256).optional(),
      result: z.enum(['allow', 'deny', 'require_approval']).optional(),
      limit: limit(1000, 100),
      cursor: cursor.optional(),
    }),
    responses: ok('a page of decisions', page(z.record(z.string(), z.unknown()))),
    errors: [400],
  },
  'GET /v1/failures': {
    summary: 'Failed attempts by error code and skill',
    tags: ['queries'],
    action: 'read',
    responses: ok(
      'failures',
      z.object({
        items: z.array(
          z.object({ errorCode: z.string(), skill: z.string(), failures: z.int(), lastAt: z.string() }),
        ),
      }),
    ),
  },
  'GET /v1/export': {
    summary:
      "Audit export: the tenant's events (or one stream or run) as JSON Lines, each with its hash, a signed manifest last",
    tags: ['audit'],
    action: 'export',
    querystring: z.strictObject({
      stream: z.string().min(1).max(200).optional(),
      run: z.uuid().optional(),
      from: instant.optional(),
      to: instant.optional(),
      format: z.enum(['jsonl', 'cloudevents']).default('jsonl'),
    }),
    responses: {
      200: {
        description:
          'one JSON document per line (events, then the signed manifest); x-aos-key-id names the key',
        schema: z.string(),
        contentType: 'application/x-ndjson',
      },
    },
    errors: [400, 404],
  },
  'GET /v1/export/public-key': {
    summary: 'The public key that checks export manifests (public)',
    tags: ['audit'],
    responses: ok(
      'the key',
      z.object({ keyId: z.string(), algorithm: z.string(), publicKeyPem: z.string() }),
    ),
  },
  'GET /status_history': {
    summary: "The original AOS's status history (offset pages)",
    tags: ['compatibility'],
    action: 'read',
    querystring: z.strictObject({
      ...statusHistoryFilters,
      tenant_id: z.string().max(128).optional(),
      limit: limit(1000, 100),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    responses: ok('a page', offsetPage),
    errors: [400],
  },
  'GET /status_history/entity/:type/:id': {
    summary: "The original AOS's history of one entity",
    tags: ['compatibility'],
    action: 'read',
    params: z.strictObject({ type: z.string().max(32), id: z.string().max(256) }),
    responses: ok('rows', z.array(statusHistoryRow)),
    errors: [400],
  },
  'GET /status_history/stats': {
    summary: "The original AOS's status history stats",
    tags: ['compatibility'],
    action: 'read',
    responses: ok('stats', statusHistoryStats),
  },
  'GET /costsim/divergence': {
    summary: "The original AOS's divergence report (v1_cost_cents / v2_cost_cents names)",
    tags: ['compatibility'],
    action: 'read',
    querystring: divergenceQuery.omit({ source: true }),
    responses: ok('the report', z.record(z.string(), z.unknown())),
    errors: [400],
  },
};

// ---- the document ------------------------------------------------------------------------

function jsonSchema(schema: Schema): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'openapi-3.0',
    reused: 'inline',
  }) as Record<string, unknown>;
  return rest;
}

function responseSchema(schema: Schema | undefined, description: string, contentType?: string) {
  if (!schema) return { description };
  if (contentType) return { description, content: { [contentType]: { schema: jsonSchema(schema) } } };
  return { description, ...jsonSchema(schema) };
}

/** The documentation of one route, as @fastify/swagger expects a route schema. */
export function routeSchema(method: string, url: string): Record<string, unknown> {
  const doc = routeDocs[`${method} ${url}`];
  const isPublic = doc ? doc.action === undefined : false;
  const errors = new Set<number>([...(doc?.errors ?? []), ...(doc?.rateLimited === false ? [] : [429])]);
  if (!isPublic) for (const status of [401, 403]) errors.add(status);
  if (doc?.body) errors.add(415);
  const response: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc?.responses ?? { 200: { description: 'OK' } })) {
    response[status] = responseSchema(r.schema, r.description, r.contentType);
  }
  for (const status of [...errors].sort()) {
    response[status] = {
      description: errorDescriptions[status] ?? 'error',
      content: { 'application/json': { schema: errorRef } },
    };
  }
  const roles = doc?.action ? rolesThatCan(doc.action) : [];
  return {
    summary: doc?.summary ?? `${method} ${url}`,
    tags: doc?.tags ?? ['other'],
    ...(doc?.action
      ? { description: `Roles: ${roles.join(', ')} (permission "${doc.action}").` }
      : doc
        ? { description: 'Public: no API key needed.' }
        : {}),
    ...(isPublic ? { security: [] } : {}),
    ...(doc?.params ? { params: jsonSchema(doc.params) } : {}),
    ...(doc?.querystring ? { querystring: jsonSchema(doc.querystring) } : {}),
    ...(doc?.headers ? { headers: jsonSchema(doc.headers) } : {}),
    ...(doc?.body ? { body: jsonSchema(doc.body) } : {}),
    response,
  };
}

/** Registers /docs and /docs/json; call before the routes, so that they are collected. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'AOS',
        description:
          'An event-sourced runtime for AI agents. Every route but the ops ones needs "Authorization: Bearer <key>"; ' +
          'the key decides the tenant and the role. Errors have one shape: {error: {code, message, details}}.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: { Error: jsonSchema(errorSchema) as never },
      },
      security: [{ bearer: [] }],
    },
    transform: ({ url, route }) => {
      const method = Array.isArray(route.method) ? route.method[0]! : route.method;
      // The docs' own routes and the console's static files are not API.
      if (url.startsWith(docsPrefix) || url.startsWith(consolePrefix)) return { schema: { hide: true }, url };
      return { schema: routeSchema(String(method), url) as never, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: docsPrefix });
}
