// Webhooks (stream `webhook-<webhookId>`): a tenant's subscription to its events, and every
// delivery attempt, dead letter and redelivery. The secret is never in an event, only its hash.
import { z } from 'zod';
import { atSchema, durationMsSchema, hashSchema, idSchema } from './fields.ts';

const webhookId = z.uuid();
/** md5(webhook id, event id) as a UUID: a GUID, not an RFC 4122 version. */
const deliveryId = z.guid();

export const webhookRegistered = z.strictObject({
  webhookId,
  url: z.url(),
  eventTypes: z.array(z.string().min(1)).min(1),
  description: z.string().nullable(),
  /** sha256 of the signing secret: which secret signed, without revealing it. */
  secretHash: hashSchema,
});

export const webhookDeleted = z.strictObject({ webhookId });

export const webhookDeliveryAttempted = z.strictObject({
  webhookId,
  deliveryId,
  eventId: idSchema,
  attempt: z.int().positive(),
  outcome: z.enum(['delivered', 'failed']),
  /** The receiver's HTTP status; null when no response came (refused, timed out). */
  httpStatus: z.int().min(100).max(599).nullable(),
  error: z.string().nullable(),
  durationMs: durationMsSchema,
  /** When a failed delivery is tried again; null when delivered or given up. */
  nextAttemptAt: atSchema.nullable(),
});

export const webhookDeadLettered = z.strictObject({
  webhookId,
  deliveryId,
  eventId: idSchema,
  attempts: z.int().positive(),
  lastError: z.string().nullable(),
});

export const webhookRedeliveryRequested = z.strictObject({ webhookId, deliveryId, eventId: idSchema });

export const webhookEventSchemas = {
  WebhookRegistered: webhookRegistered,
  WebhookDeleted: webhookDeleted,
  WebhookDeliveryAttempted: webhookDeliveryAttempted,
  WebhookDeadLettered: webhookDeadLettered,
  WebhookRedeliveryRequested: webhookRedeliveryRequested,
} as const;
