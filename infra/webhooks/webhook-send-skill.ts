// webhook_send: a plan step that POSTs to one of its tenant's registered webhooks, signed as
// the dispatcher signs (Standard Webhooks, the webhook's secret), so a receiver verifies plan
// messages and event deliveries alike. The webhook-id is derived from the step's idempotency
// key: every attempt of one step carries the same one, and the receiver deduplicates retries.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defaultRetryPolicy } from '../../domain/retry.ts';
import { errorCodeForStatus } from '../skills/http-support.ts';
import { failure, type SkillDescriptor } from '../skills/registry.ts';
import type { WebhookSender } from './webhook-sender.ts';

export const webhookSendInputSchema = z.strictObject({
  /** One of the tenant's webhooks (POST /v1/webhooks). */
  webhookId: z.uuid(),
  /** The payload's `type`, e.g. `report.ready`. */
  type: z.string().min(1).max(200),
  data: z.json(),
});
export type WebhookSendInput = z.infer<typeof webhookSendInputSchema>;

export const webhookSendOutputSchema = z.strictObject({
  status: z.int().min(200).max(299),
  /** The webhook-id header sent (the same on every attempt of the step). */
  messageId: z.string(),
});
export type WebhookSendOutput = z.infer<typeof webhookSendOutputSchema>;

/** The message id of a step: a UUID-shaped digest of its idempotency key. */
function messageIdOf(idempotencyKey: string): string {
  const hex = createHash('sha256').update(`webhook_send:${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function createWebhookSendSkill(deps: {
  sender: WebhookSender;
  /** The URL and secret of a live webhook of the tenant, or undefined. */
  target(tenantId: string, webhookId: string): Promise<{ url: string; secret: string } | undefined>;
}): SkillDescriptor<WebhookSendInput, WebhookSendOutput> {
  return {
    name: 'webhook_send',
    version: '1.0.0',
    description: "POST a signed message (Standard Webhooks) to one of the tenant's registered webhooks.",
    inputSchema: webhookSendInputSchema,
    outputSchema: webhookSendOutputSchema,
    costModel: 'No provider charge (no usage). Estimators: the unknown-skill defaults (domain/estimate.ts).',
    defaultRetry: defaultRetryPolicy,
    sideEffecting: true,
    async invoke(input, context) {
      const target = await deps.target(context.call.tenantId, input.webhookId);
      if (!target) return failure('NOT_FOUND', `no webhook ${input.webhookId} for this tenant`);
      const messageId = messageIdOf(context.call.idempotencyKey);
      const now = context.now();
      const result = await deps.sender.send({
        url: target.url,
        secret: target.secret,
        messageId,
        payload: JSON.stringify({ type: input.type, timestamp: now.toISOString(), data: input.data }),
        now,
        signal: context.signal,
      });
      if (result.ok) return { ok: true, output: { status: result.httpStatus!, messageId } };
      const where = `webhook ${input.webhookId}`;
      if (result.httpStatus !== null) {
        return failure(errorCodeForStatus(result.httpStatus), `${where} ${result.error}`);
      }
      if (deps.sender.refusedHost(target.url))
        return failure('LOCAL_URL_FORBIDDEN', `${where}: ${result.error}`);
      return failure('CONNECTION_REFUSED', `${where}: ${result.error}`);
    },
  };
}
