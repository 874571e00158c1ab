// Queries over the read models, and the original AOS's routes for its clients.
import { z } from 'zod';
import { recoveryModes } from '../domain/failure-catalog-schema.ts';
import { runStatuses } from '../domain/run/run-statuses.ts';
import { cursor, day, EARLIEST_MS, instant, limit, page } from './common.ts';
import { defineRoute } from './route.ts';

export const runSummarySchema = z.object({
  runId: z.uuid(),
  agentId: z.string(),
  status: z.enum(runStatuses),
  costMicros: z.int(),
  attempts: z.int(),
  steps: z.int(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

export const statusHistoryRowSchema = z.object({
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
export type StatusHistoryRow = z.infer<typeof statusHistoryRowSchema>;

const statusHistoryFilters = {
  entity_type: z.enum(['run', 'approval', 'budget_day']).optional(),
  entity_id: z.string().max(256).optional(),
  actor_type: z.enum(['system', 'user', 'agent', 'scheduler']).optional(),
  new_status: z.string().max(32).optional(),
  start_time: instant.optional(),
  end_time: instant.optional(),
};

const statusHistoryStatsSchema = z.object({
  total_records: z.int(),
  records_by_entity_type: z.record(z.string(), z.int()),
  records_by_actor_type: z.record(z.string(), z.int()),
  records_by_status: z.record(z.string(), z.int()),
  oldest_record: z.string().nullable(),
  newest_record: z.string().nullable(),
  time_range_days: z.number(),
});

const DAY_MS = 86_400_000;
const divergenceWindow = {
  start_date: instant.optional(),
  end_date: instant.optional(),
  days: z.coerce.number().int().min(1).max(90).default(7),
};
/** Without start_date the window is `days` back from end_date: it must not reach before year 1. */
const windowFromYearOne = (query: { start_date?: string; end_date?: string; days: number }) =>
  query.start_date !== undefined ||
  query.end_date === undefined ||
  Date.parse(query.end_date) - query.days * DAY_MS >= EARLIEST_MS;
const windowIssue = { message: 'the window must not start before 0001-01-01', path: ['days'] };
export const divergenceQuery = z
  .strictObject({ ...divergenceWindow, source: z.enum(['estimators', 'actual']).default('actual') })
  .refine(windowFromYearOne, windowIssue);
const legacyDivergenceQuery = z.strictObject(divergenceWindow).refine(windowFromYearOne, windowIssue);

const verdict = z.enum(['match', 'minor', 'major', 'mismatch']);
const divergenceFigures = {
  sample_count: z.int(),
  delta_p50: z.number().describe('micro-dollars'),
  delta_p90: z.number().describe('micro-dollars'),
  kl_divergence: z.number(),
  outlier_count: z.int(),
  fail_ratio: z.number(),
  matching_rate: z.number(),
  drift_alert: z.boolean(),
};
export const divergenceReportSchema = z.object({
  start_date: z.string(),
  end_date: z.string(),
  source: z.enum(['estimators', 'actual']),
  ...divergenceFigures,
  detailed_samples: z.array(
    z.object({
      timestamp: z.string(),
      input_hash: z.string(),
      baseline_cost: z.number(),
      compared_cost: z.number(),
      cost_delta: z.number(),
      drift_score: z.number(),
      verdict,
    }),
  ),
});
export const divergenceDailySchema = z.object({
  start_date: z.string(),
  end_date: z.string(),
  source: z.enum(['estimators', 'actual']),
  items: z.array(z.object({ day: z.iso.date(), ...divergenceFigures })),
});

export const costRowSchema = z.object({
  day: z.string().optional(),
  skill: z.string().optional(),
  model: z.string().optional(),
  charges: z.int(),
  chargedMicros: z.int(),
  computedMicros: z.int(),
  providerMicros: z.int(),
  estimateMicros: z.int(),
});
export type CostRow = z.infer<typeof costRowSchema>;

export const listRuns = defineRoute({
  method: 'GET',
  url: '/v1/runs',
  summary: 'List runs, newest first (keyset pagination)',
  tags: ['queries'],
  permission: 'read',
  querystring: z.strictObject({
    status: z.string().max(32).optional(),
    agent: z.string().max(256).optional(),
    start_time: instant.optional(),
    end_time: instant.optional(),
    limit: limit(500, 50),
    cursor: cursor.optional(),
  }),
  response: { 200: page(runSummarySchema) },
});

export const statusHistory = defineRoute({
  method: 'GET',
  url: '/v1/status-history',
  summary:
    'Status changes of runs, approvals and budget days: json pages, or every row streamed as csv or jsonl',
  tags: ['queries'],
  permission: 'read',
  querystring: z.strictObject({
    ...statusHistoryFilters,
    format: z.enum(['json', 'csv', 'jsonl']).default('json'),
    limit: limit(1000, 100),
    cursor: cursor.optional(),
  }),
  response: {
    200: {
      description: 'a page (json), or every matching row (csv, jsonl)',
      content: {
        'application/json': { schema: page(statusHistoryRowSchema) },
        'text/csv': { schema: z.string() },
        'application/x-ndjson': { schema: z.string() },
      },
    },
  },
});

export const statusHistoryStats = defineRoute({
  method: 'GET',
  url: '/v1/status-history/stats',
  summary: 'Counts of status history records',
  tags: ['queries'],
  permission: 'read',
  response: { 200: statusHistoryStatsSchema },
});

export const divergence = defineRoute({
  method: 'GET',
  url: '/v1/divergence',
  summary: 'Cost divergence report: estimator v1 vs v2, or estimate vs charged',
  tags: ['queries'],
  permission: 'read',
  querystring: divergenceQuery,
  response: { 200: divergenceReportSchema },
});

export const divergenceDaily = defineRoute({
  method: 'GET',
  url: '/v1/divergence/daily',
  summary:
    'The divergence report per UTC day of the window (drift over time); days without samples are absent',
  tags: ['queries'],
  permission: 'read',
  querystring: divergenceQuery,
  response: { 200: divergenceDailySchema },
});

export const costs = defineRoute({
  method: 'GET',
  url: '/v1/costs',
  summary: 'Charged costs grouped by day, skill or model',
  tags: ['queries'],
  permission: 'read',
  querystring: z.strictObject({
    group_by: z.enum(['day', 'skill', 'model']).default('day'),
    start_date: day.optional(),
    end_date: day.optional(),
  }),
  response: { 200: z.object({ group_by: z.enum(['day', 'skill', 'model']), items: z.array(costRowSchema) }) },
});

export const policyDecisions = defineRoute({
  method: 'GET',
  url: '/v1/policy-decisions',
  summary: 'Policy decisions, oldest first (keyset pagination)',
  tags: ['queries'],
  permission: 'read',
  querystring: z.strictObject({
    run_id: z.string().max(256).optional(),
    result: z.enum(['allow', 'deny', 'require_approval']).optional(),
    limit: limit(1000, 100),
    cursor: cursor.optional(),
  }),
  response: {
    200: page(
      z.object({
        decisionId: z.string(),
        runId: z.string(),
        stepIndex: z.int().nullable(),
        attempt: z.int().nullable(),
        policyVersion: z.string(),
        policyHash: z.string(),
        ruleId: z.string().nullable(),
        inputDigest: z.string(),
        result: z.enum(['allow', 'deny', 'require_approval']),
        reason: z.string().nullable(),
        input: z.unknown(),
        decidedAt: z.string(),
        globalPosition: z.string(),
      }),
    ),
  },
});

export const failures = defineRoute({
  method: 'GET',
  url: '/v1/failures',
  summary:
    "Failed attempts by error code: counts, first and last seen, the skills, and the failure catalog's suggestion",
  tags: ['queries', 'failures'],
  permission: 'read',
  response: {
    200: z.object({
      items: z
        .array(
          z.object({
            errorCode: z.string(),
            failures: z.int(),
            firstAt: z.string().nullable().describe('null for failures recorded before first-seen was kept'),
            lastAt: z.string(),
            skills: z.array(
              z.object({
                skill: z.string(),
                failures: z.int(),
                firstAt: z.string().nullable(),
                lastAt: z.string(),
              }),
            ),
            classification: z
              .object({
                skill: z.string(),
                catalogVersion: z.string(),
                entryId: z.string().nullable().describe('null: no entry matched, the error taxonomy decided'),
                category: z.string(),
                retry: z.boolean(),
                recovery: z
                  .object({ mode: z.enum(recoveryModes), params: z.record(z.string(), z.unknown()) })
                  .describe('the suggestion: what to do about this failure'),
                confidence: z.number(),
                automatic: z.boolean(),
                at: z.string(),
              })
              .nullable()
              .describe("the catalog's latest classification of this code (null: none recorded)"),
          }),
        )
        .describe('most frequent first'),
    }),
  },
});

// ---- the original AOS's routes ----

export const legacyStatusHistory = defineRoute({
  method: 'GET',
  url: '/status_history',
  summary: "The original AOS's status history (offset pages)",
  tags: ['compatibility'],
  permission: 'read',
  querystring: z.strictObject({
    ...statusHistoryFilters,
    // The original accepted tenant_id; here the key decides the tenant, so it may only repeat it.
    tenant_id: z.string().max(128).optional(),
    limit: limit(1000, 100),
    offset: z.coerce.number().int().min(0).default(0),
  }),
  response: {
    200: z.object({
      items: z.array(statusHistoryRowSchema),
      total: z.int(),
      limit: z.int(),
      offset: z.int(),
      has_more: z.boolean(),
    }),
  },
});

export const legacyEntityHistory = defineRoute({
  method: 'GET',
  url: '/status_history/entity/:type/:id',
  summary: "The original AOS's history of one entity",
  tags: ['compatibility'],
  permission: 'read',
  params: z.strictObject({ type: z.string().max(32), id: z.string().max(256) }),
  response: { 200: z.array(statusHistoryRowSchema) },
});

export const legacyStatusHistoryStats = defineRoute({
  method: 'GET',
  url: '/status_history/stats',
  summary: "The original AOS's status history stats",
  tags: ['compatibility'],
  permission: 'read',
  response: { 200: statusHistoryStatsSchema },
});

export const legacyDivergence = defineRoute({
  method: 'GET',
  url: '/costsim/divergence',
  summary: "The original AOS's divergence report (costs in cents: v1_cost_cents, v2_cost_cents)",
  tags: ['compatibility'],
  permission: 'read',
  querystring: legacyDivergenceQuery,
  response: {
    200: z.object({
      start_date: z.string(),
      end_date: z.string(),
      version: z.string(),
      sample_count: z.int(),
      delta_p50: z.number().describe('cents'),
      delta_p90: z.number().describe('cents'),
      kl_divergence: z.number(),
      outlier_count: z.int(),
      fail_ratio: z.number(),
      matching_rate: z.number(),
      detailed_samples: z.array(
        z.object({
          timestamp: z.string(),
          input_hash: z.string(),
          v1_cost_cents: z.number(),
          v2_cost_cents: z.number(),
          cost_delta_cents: z.number(),
          drift_score: z.number(),
          verdict,
        }),
      ),
    }),
  },
});
