// Pending approvals over HTTP: GET /v1/approvals by status, the run detail's pending ids,
// an approval closed (ApprovalClosed) when its run is cancelled while it waits, and one
// escalated (ApprovalEscalated) to the tenant's admins when nobody decides it in time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';
import { postgresReachable } from '../support/postgres.ts';
import { replayCertified } from '../support/replay-cli.ts';

/** A side-effecting POST: the default policy asks for approval before it runs. */
const needsApproval = (idempotencyKey: string) => ({
  agentId: 'hooks',
  plan: {
    steps: [
      {
        id: 'notify',
        skill: 'http_call',
        input: { url: 'http://127.0.0.1:9/hook', method: 'POST', idempotencyKey },
      },
    ],
  },
  budget: { maxCostMicros: 1_000_000 },
});

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;

for (const storeName of stores) {
  describe(`approvals on ${storeName}`, () => {
    let app: TestApp;
    let key: string;
    let stranger: string;
    beforeAll(async () => {
      app = await startTestApp(storeName);
      key = await app.keyFor('acme', 'operator');
      stranger = await app.keyFor('globex', 'admin');
    });
    afterAll(() => app.stop());

    const submitWaiting = async (idempotencyKey: string) => {
      const submitted = await app.request('POST', '/v1/runs', { key, body: needsApproval(idempotencyKey) });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const runId = submitted.body.runId as string;
      const run = await waitForRun(app, key, runId, ['waiting_approval']);
      const events = await app.request('GET', `/v1/runs/${runId}/events`, { key });
      const requested = events.body.events.find((e: { type: string }) => e.type === 'ApprovalRequested');
      return { runId, run, requested };
    };
    const approvals = async (query: string, as = key) => {
      const response = await app.request('GET', `/v1/approvals${query}`, { key: as });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.items as Array<Record<string, unknown>>;
    };
    const listed = (items: Array<Record<string, unknown>>, approvalId: string) =>
      items.find((item) => item.approvalId === approvalId);

    it('lists a waiting approval under status=pending with its run, step and requested time', async () => {
      const { runId, run, requested } = await submitWaiting('hook-pending');
      const approvalId = requested.data.approvalId as string;
      expect(run.pendingApprovalIds).toEqual([approvalId]);
      await until('the approval is projected', async () =>
        Boolean(listed(await approvals('?status=pending'), approvalId)),
      );
      expect(listed(await approvals('?status=pending'), approvalId)).toEqual({
        approvalId,
        runId,
        stepIndex: 0,
        stepId: 'notify',
        attempt: 1,
        status: 'pending',
        reason: requested.data.reason,
        requestedAt: requested.data.at,
        expiresAt: requested.data.expiresAt,
        endedAt: null,
        decidedBy: null,
        comment: null,
        closedReason: null,
        escalatesAt: null,
        escalatedAt: null,
        position: expect.stringMatching(/^\d+$/),
      });
      expect(await approvals('?status=pending', stranger)).toEqual([]);
      expect(listed(await approvals(`?run_id=${runId}`), approvalId)).toMatchObject({ status: 'pending' });
    });

    it('a cancel closes the waiting approval: closed, not pending, and closed in status history', async () => {
      const { runId, requested } = await submitWaiting('hook-cancelled');
      const approvalId = requested.data.approvalId as string;
      const cancel = await app.request('POST', `/v1/runs/${runId}/cancel`, { key, body: { reason: 'stop' } });
      expect(cancel.status).toBe(202);
      const run = await waitForRun(app, key, runId, ['cancelled']);
      expect(run.pendingApprovalIds).toEqual([]);
      const events = (await app.request('GET', `/v1/runs/${runId}/events`, { key })).body.events;
      expect(events.slice(-2).map((e: { type: string; data: unknown }) => [e.type, e.data])).toEqual([
        [
          'ApprovalClosed',
          expect.objectContaining({ approvalId, reason: 'run_cancelled', runStatus: 'cancelled' }),
        ],
        ['RunCompleted', expect.objectContaining({ status: 'cancelled' })],
      ]);

      await until('the approval is projected as closed', async () =>
        Boolean(listed(await approvals('?status=closed'), approvalId)),
      );
      expect(listed(await approvals('?status=closed'), approvalId)).toMatchObject({
        runId,
        status: 'closed',
        closedReason: 'run_cancelled',
        endedAt: events.at(-1).data.at,
      });
      expect(listed(await approvals('?status=pending'), approvalId)).toBeUndefined();
      expect(listed(await approvals(''), approvalId)).toMatchObject({ status: 'closed' });

      await until('the approval history is projected', async () => {
        const history = await app.request('GET', `/v1/status-history?entity_id=${approvalId}`, { key });
        return history.body.items?.length === 2;
      });
      const history = await app.request('GET', `/v1/status-history?entity_id=${approvalId}`, { key });
      expect(
        history.body.items.map((row: { old_status: string | null; new_status: string; reason: string }) => [
          row.old_status,
          row.new_status,
          row.reason,
        ]),
      ).toEqual([
        [null, 'pending', requested.data.reason],
        ['pending', 'closed', 'run_cancelled'],
      ]);
    });

    it("escalates an undecided approval to the tenant's admins after escalateAfterMs; the run certifies", async () => {
      const admin = await app.keyFor('initech', 'admin');
      const operator = await app.keyFor('initech', 'operator');
      const policy = (await app.request('GET', '/v1/policy', { key: admin })).body;
      const rules = { ...policy.rules, approverRoles: ['operator'], escalateAfterMs: 1_500 };
      expect(
        (await app.request('PUT', '/v1/policy', { key: admin, body: { version: 'esc-1', rules } })).status,
      ).toBe(200);
      const submitted = await app.request('POST', '/v1/runs', {
        key: operator,
        body: needsApproval('hook-escalated'),
      });
      const runId = submitted.body.runId as string;
      await waitForRun(app, operator, runId, ['waiting_approval']);
      const eventsOf = async () =>
        (await app.request('GET', `/v1/runs/${runId}/events`, { key: operator })).body.events;
      const requested = (await eventsOf()).find((e: { type: string }) => e.type === 'ApprovalRequested');
      const approvalId = requested.data.approvalId as string;
      expect(Date.parse(requested.data.escalatesAt) - Date.parse(requested.data.at)).toBe(1_500);
      const decide = (as: string) =>
        app.request('POST', `/v1/runs/${runId}/approvals/${approvalId}`, {
          key: as,
          body: { decision: 'approve' },
        });

      const early = await decide(admin);
      expect(early.status).toBe(403);
      expect(early.body.error.message).toContain('before it escalates');
      await until('the approval escalates', async () =>
        (await eventsOf()).some((e: { type: string }) => e.type === 'ApprovalEscalated'),
      );
      const escalated = (await eventsOf()).find((e: { type: string }) => e.type === 'ApprovalEscalated');
      expect(escalated.data).toMatchObject({ approvalId, approverRoles: ['operator', 'admin'] });
      expect(Date.parse(escalated.data.at)).toBeGreaterThanOrEqual(Date.parse(requested.data.escalatesAt));
      await until('the escalation is projected', async () =>
        Boolean(listed(await approvals(`?run_id=${runId}`, operator), approvalId)?.escalatedAt),
      );
      expect(listed(await approvals(`?run_id=${runId}`, operator), approvalId)).toMatchObject({
        status: 'pending',
        escalatesAt: requested.data.escalatesAt,
        escalatedAt: escalated.data.at,
      });
      expect((await decide(admin)).status).toBe(200);
      await waitForRun(app, operator, runId, ['succeeded', 'failed']);
      const summary = await replayCertified(app, await app.keyFor('initech', 'auditor'), `run=${runId}`);
      expect(summary.certification).toMatchObject({ runs: 1, certified: 1, failed: 0 });
    }, 60_000);

    it('pages with limit and cursor, and refuses an unknown status naming it', async () => {
      await submitWaiting('hook-page');
      const all = await approvals('');
      expect(all.length).toBeGreaterThanOrEqual(2);
      const first = await app.request('GET', '/v1/approvals?limit=1', { key });
      expect(first.body.items).toEqual([all[0]]);
      const second = await app.request('GET', `/v1/approvals?limit=1&cursor=${first.body.next_cursor}`, {
        key,
      });
      expect(second.body.items).toEqual([all[1]]);

      const bad = await app.request('GET', '/v1/approvals?status=waiting', { key });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_INPUT');
      expect(bad.body.error.details.issues[0].path).toEqual(['status']);
      const badCursor = await app.request('GET', '/v1/approvals?cursor=nonsense', { key });
      expect(badCursor.status).toBe(400);
    });
  });
}
