// The webhook dispatcher: every instance runs one.
//
// - Enqueuing is a checkpointed consumer of the store (`webhook-deliveries`): each event of
//   a tenant with a matching webhook becomes a delivery row, in the same transaction as the
//   checkpoint move, so no event is skipped or enqueued twice whichever instance does it.
// - Sending is done by the holder of the `webhook-dispatcher` lease alone, so a run's
//   deliveries go out one at a time in its stream's order: per (webhook, stream), only the
//   oldest undelivered delivery is due, and the next one waits until it is delivered or
//   dead-lettered. A send is recorded after the receiver answered: a crash in between sends it
//   again (at least once; the webhook-id header is the same, for the receiver to deduplicate).
// - A failed attempt is retried with a backoff doubling from AOS_WEBHOOK_BACKOFF_MS up to an
//   hour, until AOS_WEBHOOK_GIVE_UP_MS (24 h) after the first attempt; then it is
//   dead-lettered (and the stream's next delivery goes). Every attempt and dead letter is an
//   event in the webhook's stream.
// - The sender does not poll: whoever makes a delivery due announces it once committed
//   (`DELIVERIES_CHANNEL`: the enqueuer, a redelivery; this process at once, others by NOTIFY),
//   a retry is waited for with a timer to its due time, and gaining the lease wakes it. Only a
//   lost announcement waits for `pollIntervalMs` (a minute).
import { randomUUID } from 'node:crypto';
import { wakeableSleep } from '../../commands/wakeable-sleep.ts';
import type { Subscription } from '../../domain/store/event-store.ts';
import type { SqlExecutor } from '../../domain/store/sql-port.ts';
import { startCheckpointedConsumer } from '../../readmodels/checkpointed-consumer.ts';
import type { KafkaLog } from '../kafka/kafka-client.ts';
import { startLease } from '../store/lease.ts';
import type { SqlEventStore } from '../store/sql-event-store.ts';
import type { WebhookSender, WebhookSendResult } from './webhook-sender.ts';
import { DELIVERIES_CHANNEL, enqueueDeliveries, webhookStream } from './webhook-store.ts';

export const DISPATCHER_LEASE = 'webhook-dispatcher';
const MAX_BACKOFF_MS = 3_600_000;
/** The enqueuer's fallback: the store's shared head watch looks at least this often. */
const ENQUEUE_POLL_MS = 5_000;
/** After a failed look at the queue (the database did not answer). */
const RETRY_AFTER_ERROR_MS = 1_000;

export interface DispatcherOptions {
  sender: WebhookSender;
  log: KafkaLog;
  clock?: () => Date;
  /** The first retry's wait; each next one doubles, up to an hour. */
  backoffMs?: number;
  /** No retry starts later than this after the first attempt: then the delivery is dead-lettered. */
  giveUpAfterMs?: number;
  /** The longest wait for a delivery no announcement woke the sender for (a lost NOTIFY). */
  pollIntervalMs?: number;
  /** The sender's lease: a standby takes over this long after the sender died. */
  leaseMs?: number;
  instance?: string;
  /** Deliveries sent at once (each to another stream or webhook). */
  concurrency?: number;
}

interface DueDelivery {
  delivery_id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  attempts: number;
  payload: string;
  window_start: Date | string | null;
  url: string;
  secret: string;
}

export interface WebhookDispatcher {
  sending(): boolean;
  stop(): Promise<void>;
}

/** The wait before attempt `attempt + 1`, after `attempt` failures. */
export const backoffAfter = (attempt: number, baseMs: number) =>
  Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt - 1, 30));

export async function startWebhookDispatcher(
  store: SqlEventStore,
  options: DispatcherOptions,
): Promise<WebhookDispatcher> {
  const clock = options.clock ?? (() => new Date());
  const backoffMs = options.backoffMs ?? 1000;
  const giveUpAfterMs = options.giveUpAfterMs ?? 86_400_000;
  const pollIntervalMs = options.pollIntervalMs ?? 60_000;
  const stopping = new AbortController();
  const alarm = wakeableSleep();
  stopping.signal.addEventListener('abort', alarm.wake);

  let enqueued = false;
  const enqueuer: Subscription = await startCheckpointedConsumer(
    store,
    {
      name: 'webhook-deliveries',
      apply: async (tx, events) => {
        enqueued = (await enqueueDeliveries(tx, events)) > 0;
      },
      committed: () => {
        if (enqueued) store.client.notify(DELIVERIES_CHANNEL);
      },
    },
    {
      pollIntervalMs: Math.min(pollIntervalMs, ENQUEUE_POLL_MS),
      onError: (error) => options.log.warn({ err: error }, 'webhook enqueuing failed; retrying'),
    },
  );
  const unlisten = await store.client.listen(DELIVERIES_CHANNEL, alarm.wake).catch((error) => {
    options.log.warn({ err: error }, 'webhook dispatcher cannot listen; it looks every poll interval');
    return async () => {};
  });
  const lease = startLease(store.client, {
    name: DISPATCHER_LEASE,
    ...(options.instance ? { holder: `${options.instance}` } : {}),
    ...(options.leaseMs ? { ttlMs: options.leaseMs } : {}),
    onChange: (held) => {
      if (held) alarm.wake();
    },
    onError: (error) => options.log.warn({ err: error }, 'webhook dispatcher could not renew its lease'),
  });

  const record = (tx: SqlExecutor, due: DueDelivery, type: string, data: unknown) =>
    store.appendWith(
      tx,
      webhookStream(due.webhook_id),
      [
        {
          eventId: randomUUID(),
          type,
          schemaVersion: 1,
          data,
          metadata: { tenantId: due.tenant_id, actor: 'webhook-dispatcher', causationId: due.event_id },
        },
      ],
      { expectedVersion: 'any' },
    );

  async function settle(due: DueDelivery, result: WebhookSendResult, at: Date) {
    const attempt = due.attempts + 1;
    const retryAt = new Date(at.getTime() + backoffAfter(attempt, backoffMs));
    const windowStart = due.window_start === null ? at : new Date(due.window_start);
    const giveUp = !result.ok && retryAt.getTime() - windowStart.getTime() > giveUpAfterMs;
    const status = result.ok ? 'delivered' : giveUp ? 'dead' : 'pending';
    await store.client.transaction(async (tx) => {
      // Only if still pending as sent (not deleted nor redelivered meanwhile by someone else).
      const [row] = await tx.query(
        `UPDATE aos_webhook_deliveries SET status = $2, attempts = $3, last_status = $4, last_error = $5,
                next_attempt_at = $6, delivered_at = $7, window_start = $9
          WHERE delivery_id = $1 AND status = 'pending' AND attempts = $8 RETURNING delivery_id`,
        [
          due.delivery_id,
          status,
          attempt,
          result.httpStatus,
          result.error,
          retryAt,
          result.ok ? at : null,
          due.attempts,
          windowStart,
        ],
      );
      if (!row) return;
      await record(tx, due, 'WebhookDeliveryAttempted', {
        webhookId: due.webhook_id,
        deliveryId: due.delivery_id,
        eventId: due.event_id,
        attempt,
        outcome: result.ok ? 'delivered' : 'failed',
        httpStatus: result.httpStatus,
        error: result.error,
        durationMs: result.durationMs,
        nextAttemptAt: status === 'pending' ? retryAt.toISOString() : null,
      });
      if (giveUp) {
        await record(tx, due, 'WebhookDeadLettered', {
          webhookId: due.webhook_id,
          deliveryId: due.delivery_id,
          eventId: due.event_id,
          attempts: attempt,
          lastError: result.error,
        });
      }
    });
  }

  /** Sends what is due; the number sent. */
  async function round(): Promise<number> {
    const due = await store.client.query<DueDelivery>(
      `SELECT d.delivery_id, d.webhook_id, w.tenant_id, d.event_id::text, d.attempts, d.payload, d.window_start,
              w.url, w.secret
         FROM (SELECT DISTINCT ON (webhook_id, stream_id) *
                 FROM aos_webhook_deliveries WHERE status = 'pending'
                ORDER BY webhook_id, stream_id, global_position) d
         JOIN aos_webhooks w ON w.webhook_id = d.webhook_id AND w.deleted_at IS NULL
        WHERE d.next_attempt_at <= $1
        ORDER BY d.global_position
        LIMIT $2`,
      [clock(), options.concurrency ?? 16],
    );
    await Promise.all(
      due.map(async (delivery) => {
        if (!lease.held()) return;
        const at = clock();
        const result = await options.sender.send({
          url: delivery.url,
          secret: delivery.secret,
          messageId: delivery.delivery_id,
          payload: delivery.payload,
          now: at,
          signal: stopping.signal,
        });
        if (stopping.signal.aborted) return;
        await settle(delivery, result, at);
      }),
    );
    return due.length;
  }

  /** How long until the first delivery of a (webhook, stream) is due, at most a poll period. */
  async function untilNextDue(): Promise<number> {
    const [next] = await store.client.query<{ at: Date | string | null }>(
      `SELECT min(next_attempt_at) AS at
         FROM (SELECT DISTINCT ON (webhook_id, stream_id) next_attempt_at
                 FROM aos_webhook_deliveries WHERE status = 'pending'
                ORDER BY webhook_id, stream_id, global_position) heads`,
    );
    if (!next?.at) return pollIntervalMs;
    return Math.min(pollIntervalMs, Math.max(0, new Date(next.at).getTime() - clock().getTime()));
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      alarm.clear();
      let wait = pollIntervalMs;
      try {
        if (lease.held()) {
          // What was sent may have made its stream's next delivery due: look again at once.
          if ((await round()) > 0) continue;
          wait = await untilNextDue();
        }
      } catch (error) {
        options.log.warn({ err: error }, 'webhook dispatch failed; retrying');
        wait = Math.min(wait, RETRY_AFTER_ERROR_MS);
      }
      await alarm.sleep(wait);
    }
  })();

  return {
    sending: () => lease.held(),
    async stop() {
      stopping.abort();
      await loop;
      await unlisten();
      await enqueuer.stop();
      await lease.release();
    },
  };
}
