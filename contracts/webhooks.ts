// Webhooks: a tenant admin subscribes a URL to the tenant's events; deliveries are signed the
// Standard Webhooks way (docs/webhooks.md).
import { z } from 'zod';
import { limit } from './common.ts';
import { defineRoute } from './route.ts';

const webhookId = z.uuid({ message: 'must be a webhook id (a UUID)' });

const webhookView = z.object({
  webhookId: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().nullable(),
  createdAt: z.string(),
});

const deliveryView = z.object({
  deliveryId: z.string().describe('the webhook-id header of every attempt'),
  eventId: z.string(),
  eventType: z.string(),
  streamId: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']).describe('dead: retries gave up (dead-lettered)'),
  attempts: z.int(),
  lastStatus: z.int().nullable().describe("the receiver's HTTP status at the last attempt"),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

export const createWebhook = defineRoute({
  method: 'POST',
  url: '/v1/webhooks',
  summary: "Subscribe a URL to the tenant's events; the signing secret is shown once",
  tags: ['webhooks'],
  permission: 'manage_webhooks',
  body: z.strictObject({
    url: z.url({ protocol: /^https?$/, message: 'must be an absolute http:// or https:// URL' }).max(2000),
    eventTypes: z
      .array(
        z.string().regex(/^(\*|[A-Z][A-Za-z0-9]{0,99})$/, 'must be an event type such as RunCompleted, or *'),
      )
      .min(1)
      .max(100)
      .describe('event types to deliver; ["*"] for all'),
    description: z.string().trim().min(1).max(500).optional(),
  }),
  response: {
    201: webhookView
      .extend({ secret: z.string().describe('whsec_…: verifies webhook-signature; shown only here') })
      .describe('created'),
  },
});

export const listWebhooks = defineRoute({
  method: 'GET',
  url: '/v1/webhooks',
  summary: "The tenant's webhooks",
  tags: ['webhooks'],
  permission: 'manage_webhooks',
  response: { 200: z.object({ items: z.array(webhookView) }) },
});

export const deleteWebhook = defineRoute({
  method: 'DELETE',
  url: '/v1/webhooks/:id',
  summary: 'Delete a webhook: nothing more is delivered to it',
  tags: ['webhooks'],
  permission: 'manage_webhooks',
  params: z.strictObject({ id: webhookId }),
  response: { 200: webhookView.describe('deleted') },
  errors: [404],
});

export const listWebhookDeliveries = defineRoute({
  method: 'GET',
  url: '/v1/webhooks/:id/deliveries',
  summary: "A webhook's deliveries, newest first",
  tags: ['webhooks'],
  permission: 'manage_webhooks',
  params: z.strictObject({ id: webhookId }),
  querystring: z.strictObject({
    status: z.enum(['pending', 'delivered', 'dead']).optional(),
    limit: limit(1000, 100),
  }),
  response: { 200: z.object({ items: z.array(deliveryView) }) },
  errors: [404],
});

export const redeliverWebhook = defineRoute({
  method: 'POST',
  url: '/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
  summary: 'Send a delivery again (a dead-lettered one too), with a fresh retry window',
  tags: ['webhooks'],
  permission: 'manage_webhooks',
  params: z.strictObject({
    id: webhookId,
    deliveryId: z.guid({ message: 'must be a delivery id (a UUID)' }),
  }),
  response: { 202: deliveryView.describe('due now') },
  errors: [404],
});
