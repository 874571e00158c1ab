// Queries over the read models, and the original AOS's routes for its clients.
// All answer for the caller's tenant only.

import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { SqlExecutor } from '../../infra/store/sql-client.ts';
import {
  aggregateBy,
  divergenceKeys,
  divergenceReport,
  legacyDivergenceReport,
  roundRatios,
} from '../../projections/divergence.ts';
import { statusHistoryColumns } from '../../projections/status-history.ts';
import {
  allStatusHistory,
  costs,
  divergenceSamples,
  failures,
  listRuns,
  policyDecisions,
  type StatusHistoryFilters,
  statusHistoryOffsetPage,
  statusHistoryPage,
  statusHistoryStats,
} from '../../readmodels/queries.ts';
import { parseInput } from '../auth/key-routes.ts';
import { principalOf, requirePermission } from '../auth/plugin.ts';

const instant = z.iso.datetime({ offset: true });
const day = z.iso.date();
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const cursor = z.string().max(512).optional();

const runsQuery = z.strictObject({
  status: z.string().max(32).optional(),
  agent: z.string().max(256).optional(),
  start_time: instant.optional(),
  end_time: instant.optional(),
  limit: limit(500, 50),
  cursor,
});

const statusHistoryFilters = {
  entity_type: z.enum(['run', 'approval', 'budget_day']).optional(),
  entity_id: z.string().max(256).optional(),
  actor_type: z.enum(['system', 'user', 'agent', 'scheduler']).optional(),
  new_status: z.string().max(32).optional(),
  start_time: instant.optional(),
  end_time: instant.optional(),
};
const statusHistoryQuery = z.strictObject({
  ...statusHistoryFilters,
  format: z.enum(['json', 'csv', 'jsonl']).default('json'),
  limit: limit(1000, 100),
  cursor,
});
const legacyStatusHistoryQuery = z.strictObject({
  ...statusHistoryFilters,
  // The original accepted tenant_id; here the key decides the tenant, so it may only repeat it.
  tenant_id: z.string().max(128).optional(),
  limit: limit(1000, 100),
  offset: z.coerce.number().int().min(0).default(0),
});

const divergenceQuery = z.strictObject({
  start_date: instant.optional(),
  end_date: instant.optional(),
  days: z.coerce.number().int().min(1).max(90).default(7),
  source: z.enum(['estimators', 'actual']).default('actual'),
});
const costsQuery = z.strictObject({
  group_by: z.enum(['day', 'skill', 'model']).default('day'),
  start_date: day.optional(),
  end_date: day.optional(),
});
const decisionsQuery = z.strictObject({
  run_id: z.string().max(256).optional(),
  result: z.enum(['allow', 'deny', 'require_approval']).optional(),
  limit: limit(1000, 100),
  cursor,
});

function filtersOf(query: z.infer<typeof statusHistoryQuery> | z.infer<typeof legacyStatusHistoryQuery>) {
  const filters: StatusHistoryFilters = {};
  if (query.entity_type) filters.entityType = query.entity_type;
  if (query.entity_id) filters.entityId = query.entity_id;
  if (query.actor_type) filters.actorType = query.actor_type;
  if (query.new_status) filters.newStatus = query.new_status;
  if (query.start_time) filters.startTime = query.start_time;
  if (query.end_time) filters.endTime = query.end_time;
  return filters;
}

/** The report window: explicit dates, else the last `days` days up to now. */
function windowOf(query: z.infer<typeof divergenceQuery>, now: Date) {
  const end = query.end_date ?? now.toISOString();
  const start = query.start_date ?? new Date(Date.parse(end) - query.days * 86_400_000).toISOString();
  return { start, end };
}

function streamRows(
  reply: FastifyReply,
  format: 'csv' | 'jsonl',
  rows: AsyncIterable<Record<string, unknown>>,
) {
  if (format === 'jsonl') {
    const lines = (async function* () {
      for await (const row of rows) yield `${JSON.stringify(row)}\n`;
    })();
    return reply.type('application/x-ndjson').send(Readable.from(lines));
  }
  const csv = stringify({
    header: true,
    columns: [...statusHistoryColumns],
    cast: { object: (value) => JSON.stringify(value), boolean: (value) => String(value) },
  });
  Readable.from(rows).pipe(csv);
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', 'attachment; filename="status_history.csv"')
    .send(csv);
}

export const queryRoutes: FastifyPluginAsync<{ sql: Pick<SqlExecutor, 'query'>; clock: () => Date }> = async (
  app,
  { sql, clock },
) => {
  const read = { preHandler: requirePermission('read') };
  const tenantOf = (request: Parameters<typeof principalOf>[0]) => principalOf(request).tenantId;

  app.get('/v1/runs', read, async (request) => {
    const query = parseInput(runsQuery, request.query, 'query');
    return listRuns(
      sql,
      tenantOf(request),
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.agent ? { agentId: query.agent } : {}),
        ...(query.start_time ? { startTime: query.start_time } : {}),
        ...(query.end_time ? { endTime: query.end_time } : {}),
      },
      { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) },
    );
  });

  app.get('/v1/status-history', read, async (request, reply) => {
    const query = parseInput(statusHistoryQuery, request.query, 'query');
    const filters = filtersOf(query);
    if (query.format !== 'json')
      return streamRows(reply, query.format, allStatusHistory(sql, tenantOf(request), filters));
    return statusHistoryPage(sql, tenantOf(request), filters, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  });

  app.get('/v1/status-history/stats', read, async (request) => statusHistoryStats(sql, tenantOf(request)));

  app.get('/v1/divergence', read, async (request) => {
    const query = parseInput(divergenceQuery, request.query, 'query');
    const window = windowOf(query, clock());
    const samples = await divergenceSamples(sql, tenantOf(request), query.source, window);
    return roundRatios(
      divergenceReport(samples, { startDate: window.start, endDate: window.end, source: query.source }),
    );
  });

  // The same report per UTC day of the window (drift over time); days without samples are absent.
  app.get('/v1/divergence/daily', read, async (request) => {
    const query = parseInput(divergenceQuery, request.query, 'query');
    const window = windowOf(query, clock());
    const samples = await divergenceSamples(sql, tenantOf(request), query.source, window);
    const days = aggregateBy(samples, divergenceKeys.day, (day) => ({
      startDate: `${day}T00:00:00.000Z`,
      endDate: new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString(),
      source: query.source,
    }));
    return {
      start_date: window.start,
      end_date: window.end,
      source: query.source,
      items: days.map(({ key, report }) => {
        const {
          detailed_samples: _,
          start_date: __,
          end_date: ___,
          source: ____,
          ...figures
        } = roundRatios(report);
        return { day: key, ...figures };
      }),
    };
  });

  app.get('/v1/costs', read, async (request) => {
    const query = parseInput(costsQuery, request.query, 'query');
    const range = {
      ...(query.start_date ? { startDate: query.start_date } : {}),
      ...(query.end_date ? { endDate: query.end_date } : {}),
    };
    return { group_by: query.group_by, items: await costs(sql, tenantOf(request), query.group_by, range) };
  });

  app.get('/v1/policy-decisions', read, async (request) => {
    const query = parseInput(decisionsQuery, request.query, 'query');
    return policyDecisions(
      sql,
      tenantOf(request),
      { ...(query.run_id ? { runId: query.run_id } : {}), ...(query.result ? { result: query.result } : {}) },
      { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) },
    );
  });

  app.get('/v1/failures', read, async (request) => ({ items: await failures(sql, tenantOf(request)) }));

  // ---- the original AOS's routes ----
  app.get('/status_history', read, async (request) => {
    const query = parseInput(legacyStatusHistoryQuery, request.query, 'query');
    const tenantId = tenantOf(request);
    if (query.tenant_id !== undefined && query.tenant_id !== tenantId) {
      return { items: [], total: 0, limit: query.limit, offset: query.offset, has_more: false };
    }
    return statusHistoryOffsetPage(sql, tenantId, filtersOf(query), {
      limit: query.limit,
      offset: query.offset,
    });
  });

  app.get('/status_history/entity/:type/:id', read, async (request) => {
    const params = parseInput(
      z.strictObject({ type: z.string().max(32), id: z.string().max(256) }),
      request.params,
      'path',
    );
    const page = await statusHistoryPage(
      sql,
      tenantOf(request),
      { entityType: params.type, entityId: params.id },
      { limit: 1000 },
    );
    return page.items;
  });

  app.get('/status_history/stats', read, async (request) => statusHistoryStats(sql, tenantOf(request)));

  app.get('/costsim/divergence', read, async (request) => {
    const query = parseInput(divergenceQuery.omit({ source: true }), request.query, 'query');
    const window = windowOf({ ...query, source: 'estimators' }, clock());
    const samples = await divergenceSamples(sql, tenantOf(request), 'estimators', window);
    const report = divergenceReport(samples, {
      startDate: window.start,
      endDate: window.end,
      source: 'estimators',
    });
    return roundRatios(legacyDivergenceReport(report));
  });
};
