// Signed webhooks end to end, on PGlite and PostgreSQL: a tenant admin registers a local
// receiver (allowed through AOS_HTTP_ALLOW_HOSTS), runs' events arrive signed the Standard
// Webhooks way (verified by the standardwebhooks package) and in order per run, a failing
// receiver is retried with backoff and then dead-lettered, a redelivery goes out again, every
// attempt is an event, and local URLs or other tenants' webhooks are refused.
import { afterEach, describe, expect, it } from 'vitest';
import { webhookStream } from '../../infra/webhooks/webhook-store.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';
import { examplePlan } from '../support/example-plan.ts';
import { postgresReachable } from '../support/postgres.ts';
import { type Received, startWebhookReceiver } from '../support/webhook-receiver.ts';

const stores = [
  { name: 'pglite' as const, available: true },
  { name: 'postgres' as const, available: await postgresReachable() },
];

/** What a subscriber to runs' progress might ask for. */
const RUN_TYPES = ['RunSubmitted', 'SkillCallStarted', 'SkillCallSucceeded', 'StepCompleted', 'RunCompleted'];

for (const { name, available } of stores) {
  describe.runIf(available)(`webhooks (${name})`, () => {
    let app: TestApp;
    const receivers: { close(): Promise<void> }[] = [];
    afterEach(async () => {
      await app?.stop();
      for (const receiver of receivers.splice(0)) await receiver.close();
    });

    const start = () => startTestApp(name, { AOS_WEBHOOK_BACKOFF_MS: '50', AOS_WEBHOOK_GIVE_UP_MS: '1500' });

    async function submit(key: string, n: number) {
      const runs: string[] = [];
      for (let i = 0; i < n; i++) {
        const response = await app.request('POST', '/v1/runs', { key, body: { ...examplePlan, seed: i } });
        expect(response.status).toBe(202);
        runs.push(response.body.runId);
      }
      for (const runId of runs) await waitForRun(app, key, runId, ['succeeded']);
      return runs;
    }

    it('delivers every event of the runs, signed and in order per run, retrying a failing receiver', async () => {
      app = await start();
      const admin = await app.keyFor('acme', 'admin');
      // The receiver refuses each delivery's first attempt: every one is retried.
      const receiver = await startWebhookReceiver((_, attempt) => (attempt === 1 ? 503 : 200));
      receivers.push(receiver);
      const created = await app.request('POST', '/v1/webhooks', {
        key: admin,
        body: { url: receiver.url, eventTypes: RUN_TYPES, description: 'what runs do' },
      });
      expect(created.status).toBe(201);
      expect(created.body.secret).toMatch(/^whsec_/);
      receiver.useSecret(created.body.secret);
      const webhookId = created.body.webhookId;

      const operator = await app.keyFor('acme', 'operator');
      // PGlite (one connection, in process, shared with the executor and projections) is slow
      // at this: one run there, two on PostgreSQL.
      const runs = await submit(operator, name === 'pglite' ? 1 : 2);
      const expected = new Map<string, number>();
      for (const runId of runs) {
        const events = await app.request('GET', `/v1/runs/${runId}/events`, { key: operator });
        const delivered = events.body.events.filter((e: { type: string }) => RUN_TYPES.includes(e.type));
        expected.set(events.body.events[0].streamId, delivered.length);
      }
      const ofRuns = () => receiver.received.filter((r) => expected.has(r.payload.data.streamId));
      const total = [...expected.values()].reduce((a, b) => a + b, 0);
      await until(
        'every run event delivered',
        () => new Set(ofRuns().map((r) => r.id)).size >= total,
        80_000,
      );

      expect(receiver.received.every((r: Received) => r.verified)).toBe(true);
      for (const [streamId, count] of expected) {
        const positions = ofRuns()
          .filter((r) => r.payload.data.streamId === streamId)
          .map((r) => r.payload.data.streamPosition);
        // In order per run: each arrives after the one before it was delivered.
        expect(positions).toHaveLength(count);
        expect(positions).toEqual([...positions].sort((x, y) => x - y));
      }
      // The last delivery is recorded just after the receiver answered it.
      let ofRunDeliveries: { attempts: number }[] = [];
      await until('every delivery recorded', async () => {
        const path = `/v1/webhooks/${webhookId}/deliveries?status=delivered&limit=1000`;
        const deliveries = await app.request('GET', path, { key: admin });
        ofRunDeliveries = deliveries.body.items.filter((d: { streamId: string }) => expected.has(d.streamId));
        return ofRunDeliveries.length === total;
      });
      expect(ofRunDeliveries).toHaveLength(total);
      expect(ofRunDeliveries.every((d: { attempts: number }) => d.attempts === 2)).toBe(true);

      // Every attempt is an event of the webhook's stream: two failures and a delivery each.
      const recorded = await app.store.readStream(webhookStream(webhookId));
      expect(recorded[0]!.type).toBe('WebhookRegistered');
      const attempts = recorded
        .filter((e) => e.type === 'WebhookDeliveryAttempted')
        .map((e) => e.data as { outcome: string; httpStatus: number });
      expect(
        attempts.filter((a) => a.outcome === 'failed' && a.httpStatus === 503).length,
      ).toBeGreaterThanOrEqual(total);
      expect(attempts.filter((a) => a.outcome === 'delivered').length).toBeGreaterThanOrEqual(total);
      expect(JSON.stringify(recorded)).not.toContain(created.body.secret);
    }, 120_000);

    it('dead-letters a delivery that keeps failing, and delivers it again on redeliver', async () => {
      app = await start();
      const admin = await app.keyFor('acme', 'admin');
      let up = false;
      const receiver = await startWebhookReceiver(() => (up ? 200 : 500));
      receivers.push(receiver);
      const created = await app.request('POST', '/v1/webhooks', {
        key: admin,
        body: { url: receiver.url, eventTypes: ['RunCompleted'] },
      });
      receiver.useSecret(created.body.secret);
      const [runId] = await submit(admin, 1);
      const path = `/v1/webhooks/${created.body.webhookId}/deliveries`;
      await until(
        'dead-lettered',
        async () => (await app.request('GET', path, { key: admin })).body.items[0]?.status === 'dead',
        20_000,
      );
      const [dead] = (await app.request('GET', path, { key: admin })).body.items;
      expect(dead).toMatchObject({
        eventType: 'RunCompleted',
        status: 'dead',
        lastStatus: 500,
        nextAttemptAt: null,
      });
      expect(dead.attempts).toBeGreaterThanOrEqual(2);
      const recorded = await app.store.readStream(webhookStream(created.body.webhookId));
      expect(recorded.at(-1)!.type).toBe('WebhookDeadLettered');

      up = true;
      const again = await app.request('POST', `${path}/${dead.deliveryId}/redeliver`, { key: admin });
      expect(again.status).toBe(202);
      await until('redelivered', () => receiver.received.length === 1, 10_000);
      expect(receiver.received[0]).toMatchObject({ id: dead.deliveryId, verified: true });
      expect(receiver.received[0]!.payload).toMatchObject({
        type: 'RunCompleted',
        data: { streamId: `run-${runId}` },
      });
      // Recorded just after the receiver answered.
      await until('the delivery recorded', async () => {
        const types = (await app.store.readStream(webhookStream(created.body.webhookId))).map((e) => e.type);
        return types.at(-1) === 'WebhookDeliveryAttempted' && types.at(-2) === 'WebhookRedeliveryRequested';
      });
    }, 60_000);

    it('webhook_send: a plan step posts to a registered webhook, signed the same way', async () => {
      app = await start();
      const admin = await app.keyFor('acme', 'admin');
      const receiver = await startWebhookReceiver();
      receivers.push(receiver);
      // Subscribed to no run events: only the plan's own message arrives.
      const created = await app.request('POST', '/v1/webhooks', {
        key: admin,
        body: { url: receiver.url, eventTypes: ['PolicyPublished'] },
      });
      receiver.useSecret(created.body.secret);
      const step = {
        skill: 'webhook_send',
        input: { webhookId: created.body.webhookId, type: 'report.ready', data: { n: 7 } },
      };
      const submitted = await app.request('POST', '/v1/runs', {
        key: admin,
        body: { agentId: 'notifier', plan: { steps: [step] }, budget: { maxCostMicros: 1_000_000 } },
      });
      expect(submitted.status).toBe(202);
      const { runId } = submitted.body;
      // Side-effecting: the default policy holds it for approval first.
      await waitForRun(app, admin, runId, ['waiting_approval']);
      const events = (await app.request('GET', `/v1/runs/${runId}/events`, { key: admin })).body.events;
      const requested = events.find((e: { type: string }) => e.type === 'ApprovalRequested');
      const approved = await app.request('POST', `/v1/runs/${runId}/approvals/${requested.data.approvalId}`, {
        key: admin,
        body: { decision: 'approve' },
      });
      expect(approved.status).toBe(200);
      expect((await waitForRun(app, admin, runId, ['succeeded', 'failed'])).status).toBe('succeeded');
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]).toMatchObject({
        verified: true,
        payload: { type: 'report.ready', data: { n: 7 } },
      });
      const succeeded = (
        await app.request('GET', `/v1/runs/${runId}/events`, { key: admin })
      ).body.events.find((e: { type: string }) => e.type === 'SkillCallSucceeded');
      expect(succeeded.data.output).toEqual({ status: 204, messageId: receiver.received[0]!.id });
    }, 60_000);

    it('refuses local URLs, other roles and other tenants; a deleted webhook gets nothing more', async () => {
      app = await start();
      const admin = await app.keyFor('acme', 'admin');
      for (const url of [
        'http://10.0.0.7/hook',
        'http://localhost:9/hook',
        'http://169.254.169.254/latest',
      ]) {
        const refused = await app.request('POST', '/v1/webhooks', {
          key: admin,
          body: { url, eventTypes: ['*'] },
        });
        expect(refused.status).toBe(400);
        expect(refused.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'url' } });
      }
      const bad = await app.request('POST', '/v1/webhooks', {
        key: admin,
        body: { url: 'ftp://x', eventTypes: [] },
      });
      expect(bad.status).toBe(400);
      expect((await app.request('GET', '/v1/webhooks', { key: admin })).body.items).toEqual([]);

      const operator = await app.keyFor('acme', 'operator');
      expect((await app.request('GET', '/v1/webhooks', { key: operator })).status).toBe(403);

      const receiver = await startWebhookReceiver();
      receivers.push(receiver);
      const created = await app.request('POST', '/v1/webhooks', {
        key: admin,
        body: { url: receiver.url, eventTypes: ['RunSubmitted'] },
      });
      const other = await app.keyFor('globex', 'admin');
      expect(
        (await app.request('GET', `/v1/webhooks/${created.body.webhookId}/deliveries`, { key: other }))
          .status,
      ).toBe(404);
      expect(
        (await app.request('DELETE', `/v1/webhooks/${created.body.webhookId}`, { key: other })).status,
      ).toBe(404);
      expect((await app.request('GET', '/v1/webhooks', { key: other })).body.items).toEqual([]);

      const removed = await app.request('DELETE', `/v1/webhooks/${created.body.webhookId}`, { key: admin });
      expect(removed.status).toBe(200);
      expect((await app.request('GET', '/v1/webhooks', { key: admin })).body.items).toEqual([]);
      await submit(admin, 1);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(receiver.received).toEqual([]);
    }, 60_000);
  });
}
