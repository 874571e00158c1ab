// Queries over the read models, and the original AOS's routes for its clients.
// All answer for the caller's tenant only.

import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { z } from 'zod';
import * as contracts from '../../contracts/queries.ts';
import {
  aggregateBy,
  DEFAULT_DRIFT_RULES,
  type DriftRules,
  divergenceKeys,
  divergenceReport,
} from '../../domain/divergence.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { legacyDivergenceReport, roundRatios } from '../../projections/divergence-wire.ts';
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
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';

type StatusHistoryQuery = z.output<typeof contracts.statusHistory.querystring>;
type LegacyStatusHistoryQuery = z.output<typeof contracts.legacyStatusHistory.querystring>;
type DivergenceQuery = z.output<typeof contracts.divergenceQuery>;

function filtersOf(query: StatusHistoryQuery | LegacyStatusHistoryQuery) {
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
function windowOf(query: Pick<DivergenceQuery, 'start_date' | 'end_date' | 'days'>, now: Date) {
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

export const queryRoutes: FastifyPluginAsync<{
  sql: Pick<SqlExecutor, 'query'>;
  clock: () => Date;
  /** When drift may alert (AOS_DRIFT_MIN_SAMPLES); default DEFAULT_DRIFT_RULES. */
  drift?: DriftRules;
}> = async (app, { sql, clock, drift = DEFAULT_DRIFT_RULES }) => {
  const api = typed(app);
  const tenantOf = (request: Parameters<typeof principalOf>[0]) => principalOf(request).tenantId;

  api.route({
    ...routeOf(contracts.listRuns),
    handler: async (request) => {
      const { query } = request;
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
    },
  });

  api.route({
    ...routeOf(contracts.statusHistory),
    handler: async (request, reply) => {
      const { query } = request;
      const filters = filtersOf(query);
      if (query.format !== 'json')
        return streamRows(reply, query.format, allStatusHistory(sql, tenantOf(request), filters));
      return statusHistoryPage(sql, tenantOf(request), filters, {
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
    },
  });

  api.route({
    ...routeOf(contracts.statusHistoryStats),
    handler: async (request) => statusHistoryStats(sql, tenantOf(request)),
  });

  api.route({
    ...routeOf(contracts.divergence),
    handler: async (request) => {
      const { query } = request;
      const window = windowOf(query, clock());
      const samples = await divergenceSamples(sql, tenantOf(request), query.source, window);
      return roundRatios(
        divergenceReport(
          samples,
          { startDate: window.start, endDate: window.end, source: query.source },
          drift,
        ),
      );
    },
  });

  // The same report per UTC day of the window (drift over time); days without samples are absent.
  api.route({
    ...routeOf(contracts.divergenceDaily),
    handler: async (request) => {
      const { query } = request;
      const window = windowOf(query, clock());
      const samples = await divergenceSamples(sql, tenantOf(request), query.source, window);
      const days = aggregateBy(
        samples,
        divergenceKeys.day,
        (day) => ({
          startDate: `${day}T00:00:00.000Z`,
          endDate: new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString(),
          source: query.source,
        }),
        drift,
      );
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
    },
  });

  api.route({
    ...routeOf(contracts.costs),
    handler: async (request) => {
      const { query } = request;
      const range = {
        ...(query.start_date ? { startDate: query.start_date } : {}),
        ...(query.end_date ? { endDate: query.end_date } : {}),
      };
      return { group_by: query.group_by, items: await costs(sql, tenantOf(request), query.group_by, range) };
    },
  });

  api.route({
    ...routeOf(contracts.policyDecisions),
    handler: async (request) => {
      const { query } = request;
      return policyDecisions(
        sql,
        tenantOf(request),
        {
          ...(query.run_id ? { runId: query.run_id } : {}),
          ...(query.result ? { result: query.result } : {}),
        },
        { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) },
      );
    },
  });

  api.route({
    ...routeOf(contracts.failures),
    handler: async (request) => ({ items: await failures(sql, tenantOf(request)) }),
  });

  // ---- the original AOS's routes ----
  api.route({
    ...routeOf(contracts.legacyStatusHistory),
    handler: async (request) => {
      const { query } = request;
      const tenantId = tenantOf(request);
      if (query.tenant_id !== undefined && query.tenant_id !== tenantId) {
        return { items: [], total: 0, limit: query.limit, offset: query.offset, has_more: false };
      }
      return statusHistoryOffsetPage(sql, tenantId, filtersOf(query), {
        limit: query.limit,
        offset: query.offset,
      });
    },
  });

  api.route({
    ...routeOf(contracts.legacyEntityHistory),
    handler: async (request) => {
      const { params } = request;
      const page = await statusHistoryPage(
        sql,
        tenantOf(request),
        { entityType: params.type, entityId: params.id },
        { limit: 1000 },
      );
      return page.items;
    },
  });

  api.route({
    ...routeOf(contracts.legacyStatusHistoryStats),
    handler: async (request) => statusHistoryStats(sql, tenantOf(request)),
  });

  api.route({
    ...routeOf(contracts.legacyDivergence),
    handler: async (request) => {
      const { query } = request;
      const window = windowOf(query, clock());
      const samples = await divergenceSamples(sql, tenantOf(request), 'estimators', window);
      const report = divergenceReport(samples, {
        startDate: window.start,
        endDate: window.end,
        source: 'estimators',
      });
      return roundRatios(legacyDivergenceReport(report));
    },
  });
};
