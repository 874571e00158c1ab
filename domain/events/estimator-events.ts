// Events of estimator validation (issue 18), all on installation streams (tenant `system`):
// uploaded reference datasets (stream `estimator-datasets`), the canary's verdicts
// (`estimator-canary`) and the drift breaker's decisions (`estimator-breaker`).
import { z } from 'zod';
import { estimatorDatasetSchema, estimatorNames } from '../estimator-dataset.ts';
import { canonicalHash } from '../hashing.ts';
import { canaryCompleted, severitySchema } from './canary-events.ts';
import { atSchema, hashSchema } from './fields.ts';

export {
  canaryCompleted,
  canaryMetricsSchema,
  canarySampleSchema,
  severities,
  severitySchema,
} from './canary-events.ts';

export const estimatorDatasetUploaded = z
  .strictObject({ hash: hashSchema, dataset: estimatorDatasetSchema })
  .refine((data) => canonicalHash(data.dataset) === data.hash, {
    path: ['hash'],
    message: 'does not match the dataset',
  });

const estimatorSchema = z.enum(estimatorNames);
export const estimatorDisabled = z.strictObject({
  estimator: estimatorSchema,
  reason: z.string().min(1),
  source: z.enum(['canary', 'divergence']),
  severity: severitySchema,
  metrics: z.record(z.string(), z.number()),
  at: atSchema,
});

export const estimatorEnabled = z.strictObject({
  estimator: estimatorSchema,
  reason: z.string().min(1),
  /** operator: an explicit re-enable; canary: a passing canary with auto-recovery allowed. */
  source: z.enum(['operator', 'canary']),
  at: atSchema,
});

export const estimatorEventSchemas = {
  EstimatorDatasetUploaded: estimatorDatasetUploaded,
  CanaryCompleted: canaryCompleted,
  EstimatorDisabled: estimatorDisabled,
  EstimatorEnabled: estimatorEnabled,
} as const;
