// Scenarios 5-7 against the running server: hostile input (fuzzed bodies, huge and deeply
// nested payloads, odd headers, path traversal, slow bodies), isolation and auth for every
// route, and SSRF through http_call. Never a 5xx, never a write, never a leak.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/events.ts';
import { waitForTerminal } from './support/audit.ts';
import { recordScenario } from './support/report.ts';
import { openScenario, type Scenario, SYSTEM_KEY } from './support/scenario.ts';

let scenario: Scenario;
let operator: string;
let runId: string;
const eventCount = async () =>
  Number((await scenario.store.client.query<{ n: string }>('SELECT count(*) AS n FROM aos_events'))[0]!.n);

beforeAll(async () => {
  scenario = await openScenario({ AOS_REQUEST_TIMEOUT_MS: '2000', AOS_RATE_LIMIT_PER_MINUTE: '100000' });
  operator = await scenario.tenantKey('victim', 'operator');
  const submitted = await scenario.call('POST', '/v1/runs', operator, {
    agentId: 'target',
    plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'secret' } }] },
    budget: { maxCostMicros: 100_000 },
  });
  runId = submitted.body.runId;
  // The run must be over before counting events: its executor writes while it runs, and it
  // settles the last attempt's reservation in the ledger just after the run's final event.
  await waitForTerminal(scenario.store, [runId], 30_000);
  await until('every reservation is settled or released', async () => {
    const [row] = await scenario.store.client.query<{ open: string }>(
      `SELECT count(*) FILTER (WHERE type = 'BudgetReserved')
              - count(*) FILTER (WHERE type IN ('BudgetSettled', 'BudgetReleased')) AS open
         FROM aos_events WHERE stream_id LIKE 'budget-%'`,
    );
    return Number(row!.open) === 0;
  });
});
afterAll(() => scenario.dispose());

async function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer) {
  const response = await fetch(`${scenario.server.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(15_000),
  }).catch((error) => ({ status: 0, text: async () => String(error) }));
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, json, text };
}

/**
 * POST a body the server refuses before reading it: it answers 413 on the declared length and
 * closes. A client that keeps uploading gets EPIPE, and the kernel's reset for the unread bytes
 * can discard the answer itself, so, like a client sending `Expect: 100-continue`, this one
 * sends the headers and the first 64 KiB, then reads the answer.
 */
function postUnread(path: string, key: string, body: Buffer) {
  const url = new URL(scenario.server.url);
  return new Promise<{ status: number; json: any }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 64 * 1024));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {}); // EPIPE or ECONNRESET once the server has answered and closed
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      if (status === 0) return reject(new Error(`no answer to the huge body: ${JSON.stringify(text)}`));
      resolve({ status, json: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) });
    });
    setTimeout(() => socket.destroy(), 15_000);
  });
}

const writeRoutes = [
  '/v1/runs',
  `/v1/runs/RUN/cancel`,
  `/v1/runs/RUN/approvals/00000000-0000-4000-8000-000000000000`,
  '/v1/simulate',
  '/v1/admin/keys',
];

describe('hostile input', () => {
  it('never answers 5xx, always in the error shape, and writes nothing', async () => {
    const before = await eventCount();
    let requests = 0;
    let fiveXX = 0;
    let badShape = 0;
    const check = (status: number, json: any) => {
      requests++;
      if (status >= 500 || status === 0) fiveXX++;
      if (
        status >= 400 &&
        !(typeof json?.error?.code === 'string' && typeof json?.error?.message === 'string')
      ) {
        badShape++;
      }
    };
    const bodies = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({ agentId: v, plan: v, budget: v })),
      fc
        .integer()
        .map((n) =>
          JSON.stringify({ agentId: 'x', plan: { steps: [] }, budget: { maxCostMicros: n * 1e300 } }),
        ),
      fc.nat(3000).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
      fc
        .string({ unit: 'binary' })
        .map((s) => JSON.stringify({ agentId: s, plan: { steps: [{ skill: s, input: {} }] } })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writeRoutes),
        bodies,
        fc.constantFrom(operator, SYSTEM_KEY),
        async (route, body, key) => {
          const path = route.replace('RUN', runId);
          const response = await raw(
            'POST',
            path,
            { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body,
          );
          check(response.status, response.json);
          return response.status < 500 && response.status !== 0;
        },
      ),
      { numRuns: 300 },
    );
    for (const path of [
      '/v1/runs/..%2F..%2Fetc%2Fpasswd',
      '/v1/runs/%00',
      `/v1/runs/${runId}%2F..%2F..`,
      '/status_history/entity/run/..%2F..',
      '/v1/runs/😀',
    ]) {
      const response = await raw('GET', path, { authorization: `Bearer ${operator}` });
      check(response.status, response.json);
      // A traversal attempt is an id like any other: not found, or an empty list of matches.
      expect([200, 400, 404]).toContain(response.status);
      if (response.status === 200) expect(response.json).toEqual([]);
    }
    const huge = await postUnread('/v1/runs', operator, Buffer.alloc(10 * 1024 * 1024, 'a'));
    check(huge.status, huge.json);
    expect(huge.status).toBe(413);
    const injected = await raw('GET', '/v1/runs', {
      authorization: `Bearer ${operator}`,
      'x-forwarded-for': '1.2.3.4\r\nx-evil: 1'.replace(/\r\n/g, ' '),
    });
    check(injected.status, injected.json);
    const after = await eventCount();
    // Name what was written, should anything be: the count alone does not say which route wrote.
    const written = await scenario.store.client.query<{ stream_id: string; type: string; data: unknown }>(
      'SELECT stream_id, type, data FROM aos_events ORDER BY global_position DESC LIMIT $1',
      [Math.max(after - before, 0)],
    );
    recordScenario({
      scenario: 'hostile input (fuzz, 10 MB, traversal)',
      operations: requests,
      faults: 'fast-check bodies on every write route',
      acknowledged: 0,
      lost: 0,
      duplicated: after - before,
      fiveXX,
      notes: `${badShape} answers outside the error shape`,
    });
    expect(fiveXX).toBe(0);
    expect(badShape).toBe(0);
    expect(after, JSON.stringify(written)).toBe(before);
  }, 180_000);

  it('cuts off a slow-loris body at the request timeout', async () => {
    const url = new URL(scenario.server.url);
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${operator}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
        );
        const drip = setInterval(() => socket.write(' '), 500);
        setTimeout(() => socket.destroy(), 20_000);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
        socket.on('error', () => {});
      });
    });
    recordScenario({
      scenario: 'slow-loris body',
      operations: 1,
      faults: '1 byte / 500 ms',
      acknowledged: 0,
      lost: 0,
      duplicated: 0,
      fiveXX: 0,
      notes: `connection closed after ${closedAfter} ms (timeout 2000 ms)`,
    });
    expect(closedAfter).toBeLessThan(10_000);
  }, 30_000);
});

describe('isolation and auth', () => {
  it('refuses every route without a key, with a wrong or revoked key, another tenant, or a weaker role — leaking nothing', async () => {
    const stranger = await scenario.tenantKey('stranger', 'admin');
    const viewer = await scenario.tenantKey('victim', 'viewer');
    const revokedKey = await scenario.tenantKey('victim', 'admin');
    const keys = await scenario.call('GET', '/v1/admin/keys?tenant=victim', SYSTEM_KEY);
    const revokedId = keys.body.items?.find((k: { role: string }) => k.role === 'admin')?.keyId;
    await scenario.call('DELETE', `/v1/admin/keys/${revokedId}`, SYSTEM_KEY);
    const reads = [
      `/v1/runs/${runId}`,
      `/v1/runs/${runId}/events`,
      '/v1/runs',
      '/v1/status-history',
      '/v1/costs',
      '/v1/divergence',
      '/v1/failures',
      '/v1/policy-decisions',
      '/status_history',
      `/v1/export?run=${runId}`,
    ];
    let requests = 0;
    let leaks = 0;
    let wrong = 0;
    const expectStatus = async (
      method: string,
      path: string,
      key: string | undefined,
      allowed: number[],
      body?: unknown,
    ) => {
      requests++;
      const response = await raw(
        method,
        path,
        {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body ? JSON.stringify(body) : undefined,
      );
      if (!allowed.includes(response.status)) wrong++;
      if (response.text.includes('secret') || (response.status === 200 && response.text.includes(runId)))
        leaks++;
      return response;
    };
    for (const path of reads) {
      await expectStatus('GET', path, undefined, [401]);
      await expectStatus('GET', path, 'aos_not_a_real_key_0000000000000000000000000000', [401]);
      await expectStatus('GET', path, revokedKey, [401]);
    }
    await expectStatus('GET', `/v1/runs/${runId}`, stranger, [404]);
    await expectStatus('GET', `/v1/runs/${runId}/events`, stranger, [404]);
    await expectStatus('POST', `/v1/runs/${runId}/cancel`, stranger, [404], {});
    await expectStatus('GET', `/v1/export?run=${runId}`, stranger, [404]);
    for (const path of ['/v1/runs', '/v1/status-history', '/status_history', '/v1/policy-decisions']) {
      await expectStatus('GET', path, stranger, [200]);
    }
    await expectStatus('POST', '/v1/runs', viewer, [403], {
      agentId: 'x',
      plan: { steps: [{ skill: 'llm_invoke', input: {} }] },
      budget: { maxCostMicros: 1 },
    });
    await expectStatus('POST', `/v1/runs/${runId}/cancel`, viewer, [403], {});
    await expectStatus('GET', `/v1/export?run=${runId}`, operator, [403]);
    await expectStatus('POST', '/v1/admin/keys', operator, [403], { tenant: 'victim', role: 'admin' });
    await expectStatus('GET', `/v1/runs/${runId}`, SYSTEM_KEY, [403]);
    // Enumerating run ids from another tenant: indistinguishable from ids that never existed.
    for (let i = 0; i < 20; i++) {
      await expectStatus(
        'GET',
        `/v1/runs/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        stranger,
        [404],
      );
    }
    const stored = await scenario.store.client.query<{ key_hash: string }>(
      'SELECT key_hash FROM aos_api_keys',
    );
    const plaintextStored = stored.some((row) =>
      [operator, viewer, stranger, SYSTEM_KEY].includes(row.key_hash),
    );
    recordScenario({
      scenario: 'isolation and auth',
      operations: requests,
      faults: 'no key, wrong, revoked, other tenant, weaker roles, enumeration',
      acknowledged: 0,
      lost: 0,
      duplicated: 0,
      fiveXX: 0,
      notes: `${wrong} unexpected statuses, ${leaks} leaks; keys stored ${plaintextStored ? 'IN PLAINTEXT' : 'hashed only'}`,
    });
    expect(wrong).toBe(0);
    expect(leaks).toBe(0);
    expect(plaintextStored).toBe(false);
  }, 60_000);
});

describe('SSRF through http_call', () => {
  it('refuses loopback, private, link-local, metadata, IPv6-mapped and local names', async () => {
    const targets = [
      'http://127.0.0.1:9/',
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost/',
      'http://0.0.0.0/',
      'http://100.64.0.1/',
    ];
    const outcomes: string[] = [];
    for (const url of targets) {
      const submitted = await scenario.call('POST', '/v1/runs', operator, {
        agentId: 'ssrf',
        plan: { steps: [{ skill: 'http_call', input: { url }, retry: { maxAttempts: 1 } }] },
        budget: { maxCostMicros: 100_000 },
      });
      const id = submitted.body.runId;
      const deadline = Date.now() + 20_000;
      let code = 'pending';
      while (Date.now() < deadline) {
        const events = await scenario.call('GET', `/v1/runs/${id}/events?limit=1000`, operator);
        const failed = events.body.events.find((e: { type: string }) => e.type === 'SkillCallFailed');
        const denied = events.body.events.find(
          (e: { type: string; data: { result?: string } }) =>
            e.type === 'PolicyDecided' && e.data.result === 'deny',
        );
        if (failed) code = failed.data.errorCode;
        else if (denied) code = 'POLICY_DENIED';
        if (code !== 'pending') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      outcomes.push(code);
    }
    const refused = outcomes.filter((c) => c === 'LOCAL_URL_FORBIDDEN' || c === 'POLICY_DENIED').length;
    recordScenario({
      scenario: 'SSRF via http_call',
      operations: targets.length,
      faults: 'loopback, private, link-local, metadata, IPv6-mapped, local names',
      acknowledged: targets.length,
      lost: 0,
      duplicated: 0,
      fiveXX: 0,
      notes: `${refused}/${targets.length} refused (${[...new Set(outcomes)].join(', ')})`,
    });
    expect(outcomes.every((c) => c === 'LOCAL_URL_FORBIDDEN' || c === 'POLICY_DENIED')).toBe(true);
  }, 120_000);
});
