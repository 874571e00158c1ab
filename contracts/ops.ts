// Health, metrics, the caller's identity, and the audit export.
import { z } from 'zod';
import { actions } from '../api/auth/permissions.ts';
import { actorRoles } from '../domain/actor.ts';
import { instant } from './common.ts';
import { defineRoute } from './route.ts';

export const healthz = defineRoute({
  method: 'GET',
  url: '/healthz',
  summary: 'Liveness: answers while the process runs',
  tags: ['ops'],
  response: { 200: z.object({ status: z.literal('ok') }) },
});

export const readyz = defineRoute({
  method: 'GET',
  url: '/readyz',
  summary:
    'Readiness: answers 200 while the event store answers; `degraded` names what holds work back (e.g. a transaction holding back the read models)',
  tags: ['ops'],
  response: {
    // Loose: readiness reports may grow (the fields are documented, more pass through).
    200: z.looseObject({
      status: z.enum(['ready', 'degraded']),
      degraded: z.array(z.looseObject({ cause: z.string(), message: z.string() })).optional(),
      kafkaPublisher: z
        .object({
          role: z.enum(['active', 'standby']).describe('active: holds the publisher lease and publishes'),
          instance: z.string().describe("this instance's name in the publisher lease"),
          state: z.enum(['standby', 'connecting', 'publishing', 'broker-unavailable', 'stopped']),
          publishedPosition: z.string().nullable(),
          lastError: z.string().nullable(),
          since: z.string(),
        })
        .optional(),
    }),
  },
  errors: [503],
});

export const metrics = defineRoute({
  method: 'GET',
  url: '/metrics',
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['ops'],
  rateLimited: false,
  errors: [401],
  response: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
});

export const whoami = defineRoute({
  method: 'GET',
  url: '/v1/whoami',
  summary: "The caller's key: its tenant, role and the permissions the role has",
  tags: ['keys'],
  permission: 'read',
  response: {
    200: z.object({
      keyId: z.string(),
      tenantId: z.string(),
      role: z.enum(actorRoles),
      permissions: z.array(z.enum(actions)),
    }),
  },
});

export const exportEvents = defineRoute({
  method: 'GET',
  url: '/v1/export',
  summary:
    "Audit export: the tenant's events (or one stream or run) as JSON Lines, each with its hash, a signed manifest last",
  tags: ['audit'],
  permission: 'export',
  querystring: z
    .strictObject({
      stream: z.string().min(1).max(200).optional(),
      run: z.uuid().optional(),
      from: instant.optional(),
      to: instant.optional(),
      format: z.enum(['jsonl', 'cloudevents']).default('jsonl'),
    })
    .refine((query) => !(query.stream && query.run), {
      message: 'give stream or run, not both',
      path: ['run'],
    })
    .refine((query) => !(query.from && query.to) || Date.parse(query.from) < Date.parse(query.to), {
      message: 'from must be before to',
      path: ['to'],
    }),
  response: {
    200: {
      description:
        'one JSON document per line (events, then the signed manifest); x-aos-key-id names the key',
      content: { 'application/x-ndjson': { schema: z.string() } },
    },
  },
  errors: [404],
});

export const exportPublicKey = defineRoute({
  method: 'GET',
  url: '/v1/export/public-key',
  summary: 'The public key that checks export manifests (public)',
  tags: ['audit'],
  response: { 200: z.object({ keyId: z.string(), algorithm: z.string(), publicKeyPem: z.string() }) },
});
