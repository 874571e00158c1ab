// Webhook subscriptions and their deliveries in SQL (aos_webhooks, aos_webhook_deliveries),
// each change recorded as an event in the webhook's stream in the same transaction.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';

export const webhookStream = (webhookId: string) => `webhook-${webhookId}`;
/** Announces, once committed, a delivery made due: it wakes the sender (dispatcher.ts). */
export const DELIVERIES_CHANNEL = 'aos_webhook_deliveries';

export interface WebhookRecord {
  webhookId: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  createdAt: string;
}

export interface DeliveryRecord {
  deliveryId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  streamId: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

interface WebhookRow {
  webhook_id: string;
  tenant_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  created_at: Date | string;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

const webhookOf = (row: WebhookRow): WebhookRecord => ({
  webhookId: row.webhook_id,
  tenantId: row.tenant_id,
  url: row.url,
  eventTypes: row.event_types,
  description: row.description,
  createdAt: iso(row.created_at)!,
});

const DELIVERY_COLUMNS = `delivery_id, webhook_id, event_id, event_type, stream_id, status, attempts, last_status,
  last_error, next_attempt_at, delivered_at, created_at`;

function deliveryOf(row: Record<string, unknown>): DeliveryRecord {
  const status = row.status as DeliveryRecord['status'];
  return {
    deliveryId: row.delivery_id as string,
    webhookId: row.webhook_id as string,
    eventId: row.event_id as string,
    eventType: row.event_type as string,
    streamId: row.stream_id as string,
    status,
    attempts: Number(row.attempts),
    lastStatus: (row.last_status as number | null) ?? null,
    lastError: (row.last_error as string | null) ?? null,
    nextAttemptAt: status === 'pending' ? iso(row.next_attempt_at as Date) : null,
    deliveredAt: iso((row.delivered_at as Date | null) ?? null),
    createdAt: iso(row.created_at as Date)!,
  };
}

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const secretHash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function createWebhookStore(store: SqlEventStore, clock: () => Date = () => new Date()) {
  const sql = store.client;
  const record = (tx: SqlExecutor, tenantId: string, webhookId: string, type: string, data: unknown) =>
    store.appendWith(
      tx,
      webhookStream(webhookId),
      [{ eventId: randomUUID(), type, schemaVersion: 1, data, metadata: { tenantId, actor: 'webhooks' } }],
      { expectedVersion: 'any' },
    );

  return {
    async register(
      tenantId: string,
      input: { url: string; eventTypes: string[]; description?: string | undefined },
    ): Promise<WebhookRecord & { secret: string }> {
      const webhookId = randomUUID();
      const secret = newSecret();
      const description = input.description ?? null;
      const [row] = await sql.transaction(async (tx) => {
        const rows = await tx.query<WebhookRow>(
          `INSERT INTO aos_webhooks (webhook_id, tenant_id, url, event_types, description, secret, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          [webhookId, tenantId, input.url, input.eventTypes, description, secret, clock()],
        );
        await record(tx, tenantId, webhookId, 'WebhookRegistered', {
          webhookId,
          url: input.url,
          eventTypes: input.eventTypes,
          description,
          secretHash: secretHash(secret),
        });
        return rows;
      });
      return { ...webhookOf(row!), secret };
    },

    async list(tenantId: string): Promise<WebhookRecord[]> {
      const rows = await sql.query<WebhookRow>(
        'SELECT * FROM aos_webhooks WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, webhook_id',
        [tenantId],
      );
      return rows.map(webhookOf);
    },

    async get(tenantId: string, webhookId: string): Promise<WebhookRecord | undefined> {
      const [row] = await sql.query<WebhookRow>(
        'SELECT * FROM aos_webhooks WHERE tenant_id = $1 AND webhook_id = $2 AND deleted_at IS NULL',
        [tenantId, webhookId],
      );
      return row ? webhookOf(row) : undefined;
    },

    /** Where a live webhook of the tenant sends, and its secret (the webhook_send skill). */
    async target(tenantId: string, webhookId: string): Promise<{ url: string; secret: string } | undefined> {
      const [row] = await sql.query<{ url: string; secret: string }>(
        'SELECT url, secret FROM aos_webhooks WHERE tenant_id = $1 AND webhook_id = $2 AND deleted_at IS NULL',
        [tenantId, webhookId],
      );
      return row;
    },

    /** Deletes it: nothing more is enqueued for it, and its pending deliveries are dropped. */
    async remove(tenantId: string, webhookId: string): Promise<WebhookRecord | undefined> {
      return sql.transaction(async (tx) => {
        const [row] = await tx.query<WebhookRow>(
          `UPDATE aos_webhooks SET deleted_at = $3 WHERE tenant_id = $1 AND webhook_id = $2 AND deleted_at IS NULL
           RETURNING *`,
          [tenantId, webhookId, clock()],
        );
        if (!row) return undefined;
        await tx.query(`DELETE FROM aos_webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'`, [
          webhookId,
        ]);
        await record(tx, tenantId, webhookId, 'WebhookDeleted', { webhookId });
        return webhookOf(row);
      });
    },

    /** Newest first; `before` (a delivery's global position) pages on. */
    async deliveries(webhookId: string, options: { status?: string | undefined; limit: number }) {
      const rows = await sql.query(
        `SELECT ${DELIVERY_COLUMNS} FROM aos_webhook_deliveries
          WHERE webhook_id = $1 AND ($2::text IS NULL OR status = $2)
          ORDER BY global_position DESC LIMIT $3`,
        [webhookId, options.status ?? null, options.limit],
      );
      return rows.map(deliveryOf);
    },

    /** Makes a delivery due now, with a fresh retry window; undefined if there is none. */
    async redeliver(tenantId: string, webhookId: string, deliveryId: string) {
      const redelivered = await sql.transaction(async (tx) => {
        const [row] = await tx.query(
          `UPDATE aos_webhook_deliveries SET status = 'pending', next_attempt_at = $3, window_start = NULL
            WHERE webhook_id = $1 AND delivery_id = $2 RETURNING ${DELIVERY_COLUMNS}`,
          [webhookId, deliveryId, clock()],
        );
        if (!row) return undefined;
        await record(tx, tenantId, webhookId, 'WebhookRedeliveryRequested', {
          webhookId,
          deliveryId,
          eventId: row.event_id,
        });
        return deliveryOf(row);
      });
      // Committed: the sender (this instance's or another's) goes at once.
      if (redelivered) sql.notify(DELIVERIES_CHANNEL);
      return redelivered;
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;

/** What a receiver gets: the Standard Webhooks payload shape (type, timestamp, data). */
export function webhookPayload(event: RecordedEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.recordedAt,
    data: {
      eventId: event.eventId,
      streamId: event.streamId,
      streamPosition: event.streamPosition,
      globalPosition: event.globalPosition,
      schemaVersion: event.schemaVersion,
      tenantId: event.metadata.tenantId,
      data: event.data,
    },
  });
}

/**
 * Enqueues a delivery per (live webhook of the event's tenant and type, event); webhook events
 * themselves are never delivered (a delivery would record an event to deliver, and so on).
 * Idempotent: a delivery is unique per webhook and event. Answers how many it enqueued.
 */
export async function enqueueDeliveries(tx: SqlExecutor, events: readonly RecordedEvent[]): Promise<number> {
  const candidates = events.filter((e) => !e.type.startsWith('Webhook'));
  if (candidates.length === 0) return 0;
  const [row] = await tx.query<{ enqueued: number }>(
    `WITH enqueued AS (
       INSERT INTO aos_webhook_deliveries
         (delivery_id, webhook_id, event_id, event_type, stream_id, global_position, payload)
       SELECT md5(w.webhook_id::text || e.event_id)::uuid, w.webhook_id, e.event_id::uuid, e.type, e.stream_id,
              e.global_position, e.payload
         FROM jsonb_to_recordset($1::jsonb)
              AS e(event_id text, type text, stream_id text, global_position bigint, tenant_id text, payload text)
         JOIN aos_webhooks w ON w.tenant_id = e.tenant_id AND w.deleted_at IS NULL
                            AND (e.type = ANY(w.event_types) OR '*' = ANY(w.event_types))
       ORDER BY e.global_position
       ON CONFLICT (webhook_id, event_id) DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS enqueued FROM enqueued`,
    [
      JSON.stringify(
        candidates.map((e) => ({
          event_id: e.eventId,
          type: e.type,
          stream_id: e.streamId,
          global_position: e.globalPosition,
          tenant_id: e.metadata.tenantId,
          payload: webhookPayload(e),
        })),
      ),
    ],
  );
  return row!.enqueued;
}
