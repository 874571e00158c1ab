// Estimator validation (issue 18): reference datasets (shipped and uploaded), validation on
// demand, the daily canary's reports and the drift breaker's state. Datasets, validation, the
// canary run and re-enabling are the installation's (the system key); reading the canary's
// verdicts and the breaker is any key's, since every tenant's budgets depend on them.
import { z } from 'zod';
import { datasetNameSchema, estimatorDatasetSchema, estimatorNames } from '../domain/estimator-dataset.ts';
import { canaryCompleted, severitySchema } from '../domain/events/canary-events.ts';
import { priceTableSchema } from '../domain/price-table.ts';
import { defineRoute } from './route.ts';

const datasetParams = z.object({ name: datasetNameSchema });

const datasetVersion = {
  hash: z.string().describe('sha256 of the canonical JSON of the dataset'),
  source: z.enum(['shipped', 'uploaded']).describe('uploaded shadows the shipped dataset of its name'),
  recordedAt: z.string().nullable(),
  actor: z.string().nullable(),
};

export const datasetSummarySchema = z.object({
  name: z.string(),
  version: z.int(),
  kind: z.string(),
  description: z.string(),
  samples: z.int().describe('how many samples'),
  ...datasetVersion,
});

export const putDataset = defineRoute({
  method: 'PUT',
  url: '/v1/admin/estimator-datasets/:name',
  summary: 'Upload a version of a reference dataset (recorded as an event; validation uses the latest)',
  tags: ['estimators'],
  permission: 'operate',
  params: datasetParams,
  body: estimatorDatasetSchema,
  response: {
    200: z.object({
      changed: z.boolean().describe('false: this version was already the latest, nothing was recorded'),
      dataset: datasetSummarySchema,
    }),
  },
});

export const listDatasets = defineRoute({
  method: 'GET',
  url: '/v1/admin/estimator-datasets',
  summary: 'The reference datasets validation runs on, by name',
  tags: ['estimators'],
  permission: 'operate',
  response: { 200: z.object({ items: z.array(datasetSummarySchema) }) },
});

export const getDataset = defineRoute({
  method: 'GET',
  url: '/v1/admin/estimator-datasets/:name',
  summary: 'One reference dataset in full, samples and thresholds',
  tags: ['estimators'],
  permission: 'operate',
  params: datasetParams,
  response: { 200: z.object({ dataset: estimatorDatasetSchema, ...datasetVersion }) },
  errors: [404],
});

const metricsSchema = z.object({
  samples: z.int(),
  medianAbsErrorMicros: z.int(),
  p90AbsErrorMicros: z.int(),
  kl: z.number(),
  withinTolerance: z.number(),
  feasibilityAgreement: z.number(),
});
const sampleResultSchema = z.object({
  id: z.string(),
  tags: z.array(z.string()),
  estimateMicros: z.int(),
  expectedMinMicros: z.int(),
  expectedMaxMicros: z.int(),
  errorMicros: z.int(),
  feasible: z.boolean(),
  expectedFeasible: z.boolean(),
});

export const datasetValidationSchema = z.object({
  dataset: z.string(),
  version: z.int(),
  kind: z.string(),
  priceTableVersion: z.string(),
  estimators: z.array(
    z.object({
      estimator: z.enum(estimatorNames),
      verdict: z.enum(['pass', 'fail']),
      asExpected: z.boolean().describe('whether this is the verdict the dataset declares'),
      metrics: metricsSchema,
      thresholds: z.array(
        z.object({ threshold: z.string(), limit: z.number(), value: z.number(), pass: z.boolean() }),
      ),
      worst: z.array(sampleResultSchema),
    }),
  ),
});

export const validateEstimators = defineRoute({
  method: 'POST',
  url: '/v1/admin/estimators/validate',
  summary: 'Run v1 and v2 on the reference datasets, offline: no run is written, nothing is recorded',
  tags: ['estimators'],
  permission: 'operate',
  body: z.strictObject({
    dataset: datasetNameSchema.optional().describe('only this dataset (default: all)'),
    priceTable: priceTableSchema.optional().describe('a what-if price table (default: the one in force)'),
  }),
  response: {
    200: z.object({
      priceTable: z.object({ version: z.string(), hash: z.string() }),
      ok: z.boolean().describe('every verdict is the one its dataset declares'),
      reports: z.array(datasetValidationSchema),
    }),
  },
  errors: [404],
});

export const canaryReportSchema = canaryCompleted.omit({ sample: true }).extend({
  sampleSize: z.int().describe('how many runs were re-estimated (the runs are in the event)'),
  position: z.int().describe('its place in the stream estimator-canary'),
  recordedAt: z.string(),
});

export const runCanary = defineRoute({
  method: 'POST',
  url: '/v1/admin/estimators/canary',
  summary:
    "Run the canary now: re-estimate a sample of the last day's runs, compare with the charges and the datasets, record CanaryCompleted",
  tags: ['estimators'],
  permission: 'operate',
  response: {
    200: z.object({
      ran: z.boolean().describe('false: another instance holds the canary lock'),
      report: canaryReportSchema.nullable(),
    }),
  },
});

export const listCanaryReports = defineRoute({
  method: 'GET',
  url: '/v1/estimators/canary',
  summary: "The canary's reports, newest first",
  tags: ['estimators'],
  permission: 'read',
  querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(30) }),
  response: { 200: z.object({ items: z.array(canaryReportSchema) }) },
});

export const estimatorStateSchema = z.object({
  estimator: z.enum(estimatorNames),
  enabled: z.boolean(),
  /** Why and since when it is disabled (or was last re-enabled); null when never touched. */
  since: z.string().nullable(),
  reason: z.string().nullable(),
  severity: severitySchema.nullable(),
});

export const estimatorStatus = defineRoute({
  method: 'GET',
  url: '/v1/estimators/status',
  summary: 'The drift breaker: which estimator is in service, and which one budgets and simulate use',
  tags: ['estimators'],
  permission: 'read',
  response: {
    200: z.object({
      basis: z.enum(estimatorNames).describe('the estimator budgets and simulate rely on now'),
      autoRecovery: z.boolean(),
      estimators: z.array(estimatorStateSchema),
    }),
  },
});

export const enableEstimator = defineRoute({
  method: 'POST',
  url: '/v1/admin/estimators/:estimator/enable',
  summary: 'Put an estimator the breaker disabled back in service (records EstimatorEnabled)',
  tags: ['estimators'],
  permission: 'operate',
  params: z.object({ estimator: z.enum(estimatorNames) }),
  body: z.strictObject({ reason: z.string().min(1).max(2000) }),
  response: { 200: z.object({ changed: z.boolean(), state: estimatorStateSchema }) },
});
