// Reference data: price tables (stream `pricing`) and tenant policies (stream
// `policy-<tenantId>`), which runs snapshot at submission, and the failure catalog (stream
// `failure-catalog`), which classifies each failed attempt when it is recorded. Each carries
// the hash of its content, checked here, so decisions can name the version they used by hash.
import { z } from 'zod';
import { catalogEntriesSchema, failureCatalogHash } from '../failure-catalog.ts';
import { policyHash, policyRulesSchema } from '../policy.ts';
import { priceModelsSchema, priceTableHash } from '../pricing.ts';
import { atSchema, hashSchema } from './fields.ts';

export const priceTableAdopted = z
  .strictObject({
    version: z.string().min(1),
    hash: hashSchema,
    models: priceModelsSchema,
    effectiveFrom: atSchema,
  })
  .refine((data) => priceTableHash(data) === data.hash, {
    path: ['hash'],
    message: 'does not match the models',
  });

export const policyPublished = z
  .strictObject({
    version: z.string().min(1),
    hash: hashSchema,
    rules: policyRulesSchema,
  })
  .refine((data) => policyHash(data) === data.hash, { path: ['hash'], message: 'does not match the rules' });

export const failureCatalogAdopted = z
  .strictObject({
    version: z.string().min(1),
    hash: hashSchema,
    entries: catalogEntriesSchema,
    effectiveFrom: atSchema,
  })
  .refine((data) => failureCatalogHash(data) === data.hash, {
    path: ['hash'],
    message: 'does not match the entries',
  });

export const referenceDataEventSchemas = {
  FailureCatalogAdopted: failureCatalogAdopted,
  PriceTableAdopted: priceTableAdopted,
  PolicyPublished: policyPublished,
} as const;
