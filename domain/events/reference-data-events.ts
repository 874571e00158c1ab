// Reference data that runs snapshot at submission: price tables (stream `pricing`) and
// tenant policies (stream `policy-<tenantId>`). Each carries the hash of its content, checked
// here, so a table or policy can be named by hash in charges and decisions.
import { z } from 'zod';
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

export const referenceDataEventSchemas = {
  PriceTableAdopted: priceTableAdopted,
  PolicyPublished: policyPublished,
} as const;
