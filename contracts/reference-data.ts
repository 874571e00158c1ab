// Policy, prices and the failure catalog as commands: a tenant admin puts its policy in force,
// the system key the price table every tenant is charged by and the failure catalog; each is a versioned reference-data event
// (domain/reference-data.ts), readable as the version in force and as its history.
import { z } from 'zod';
import { catalogEntriesSchema, failureCatalogSchema } from '../domain/failure-catalog-schema.ts';
import { policyRulesSchema, policySchema } from '../domain/policy-rules.ts';
import { priceModelsSchema, priceTableSchema } from '../domain/price-table.ts';
import { defineRoute } from './route.ts';

const recorded = {
  hash: z.string().describe('sha256 of the canonical JSON of the content; the version label is not hashed'),
  position: z.int().describe('its place in the stream: 0 is the first version recorded'),
  recordedAt: z.string(),
  actor: z.string().nullable().describe('role:key id of whoever put it in force'),
};

export const policyVersionSchema = z.object({
  version: z.string(),
  rules: policyRulesSchema,
  ...recorded,
});

export const policyInForceSchema = z.object({
  version: z.string(),
  hash: z.string(),
  rules: policyRulesSchema,
  source: z.enum(['default', 'published']).describe('default: the tenant never published one'),
  position: z.int().nullable(),
  recordedAt: z.string().nullable(),
  actor: z.string().nullable(),
});

export const priceTableVersionSchema = z.object({
  version: z.string(),
  models: priceModelsSchema,
  ...recorded,
});

const history = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item).describe('oldest first') });

export const setPolicy = defineRoute({
  method: 'PUT',
  url: '/v1/policy',
  summary: "Put the tenant's policy in force (new runs and simulations use it; running ones keep theirs)",
  tags: ['policy'],
  permission: 'manage_policy',
  body: policySchema,
  response: {
    200: z.object({
      changed: z.boolean().describe('false: this version was already in force, nothing was recorded'),
      policy: policyVersionSchema,
    }),
  },
  errors: [409],
});

export const getPolicy = defineRoute({
  method: 'GET',
  url: '/v1/policy',
  summary: "The tenant's policy in force",
  tags: ['policy'],
  permission: 'read',
  response: { 200: policyInForceSchema },
});

export const policyHistory = defineRoute({
  method: 'GET',
  url: '/v1/policy/history',
  summary: "Every version of the tenant's policy, as it was put in force",
  tags: ['policy'],
  permission: 'read',
  response: { 200: history(policyVersionSchema) },
});

export const setPriceTable = defineRoute({
  method: 'PUT',
  url: '/v1/admin/price-tables',
  summary: 'Adopt a price table (runs submitted after it are charged by it)',
  tags: ['prices'],
  permission: 'operate',
  body: priceTableSchema,
  response: {
    200: z.object({
      changed: z.boolean().describe('false: this version was already in force, nothing was recorded'),
      priceTable: priceTableVersionSchema,
    }),
  },
  errors: [409],
});

export const getPriceTable = defineRoute({
  method: 'GET',
  url: '/v1/admin/price-tables',
  summary: 'The price table in force',
  tags: ['prices'],
  permission: 'operate',
  response: { 200: priceTableVersionSchema },
});

export const priceTableHistory = defineRoute({
  method: 'GET',
  url: '/v1/admin/price-tables/history',
  summary: 'Every price table adopted, the default first',
  tags: ['prices'],
  permission: 'operate',
  response: { 200: history(priceTableVersionSchema) },
});

export const failureCatalogVersionSchema = z.object({
  version: z.string(),
  entries: catalogEntriesSchema,
  ...recorded,
});

export const setFailureCatalog = defineRoute({
  method: 'PUT',
  url: '/v1/admin/failure-catalog',
  summary: 'Adopt a failure catalog (every failed attempt recorded after it is classified by it)',
  tags: ['failures'],
  permission: 'operate',
  body: failureCatalogSchema,
  response: {
    200: z.object({
      changed: z.boolean().describe('false: this version was already in force, nothing was recorded'),
      failureCatalog: failureCatalogVersionSchema,
    }),
  },
  errors: [409],
});

export const getFailureCatalog = defineRoute({
  method: 'GET',
  url: '/v1/admin/failure-catalog',
  summary: 'The failure catalog in force',
  tags: ['failures'],
  permission: 'operate',
  response: { 200: failureCatalogVersionSchema },
});

export const failureCatalogHistory = defineRoute({
  method: 'GET',
  url: '/v1/admin/failure-catalog/history',
  summary: 'Every failure catalog adopted, the shipped default first',
  tags: ['failures'],
  permission: 'operate',
  response: { 200: history(failureCatalogVersionSchema) },
});
