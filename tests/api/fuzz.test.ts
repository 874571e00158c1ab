// Every route (the contracts in contracts/ are the registered route schemas, and
// tests/api/openapi.test.ts holds the docs generated from them equal to the server's routes)
// under fuzzed input: malformed JSON, wrong types, huge numbers, deep nesting, unicode edge
// cases (lone surrogates), prototype-poisoning keys, odd headers, traversal in ids, cursors
// of the right shape with the wrong contents, dates before year 1 and odd query strings.
// Never a 5xx, every error in the documented shape, and nothing written to the event store.
// Input Node's own HTTP parser refuses is sent over a raw socket.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes as contracts, type RouteContract } from '../../contracts/index.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { countEvents } from '../support/count-events.ts';

const RUNS_PER_ROUTE = Number(process.env.AOS_FUZZ_RUNS ?? 40);

const nested = (depth: number, leaf: string) => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
const deepObject = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

const oddStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e',
  '👩‍👩‍👧‍👦',
  'e\u0301',
  '\uffff',
  '%00',
  `\${jndi:ldap://x}`,
  '<script>alert(1)</script>',
  "'; DROP TABLE aos_events; --",
  'a'.repeat(10_000),
);
const hugeNumbers = fc.constantFrom(
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -0,
  2 ** 63,
  0.1 + 0.2,
  Number.MIN_VALUE,
);
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  oddStrings,
);

const validRun = (agentId: string, extra = '') =>
  `{"agentId":"${agentId}","plan":{"steps":[{"skill":"json_transform","input":{"expression":"a","data":{"a":1}}}]},"budget":{"maxCostMicros":1000}${extra}}`;
const hostileRuns = [
  validRun('\\ud800'),
  validRun('x\\udfffy'),
  validRun('x', ',"seed":"\\udbff"'),
  validRun('x').replace('"expression":"a"', '"expression":"a\\ud800"'),
  validRun('x').replace('"data":{"a":1}', '"data":{"\\ud800":1}'),
  validRun('x', ',"__proto__":{"polluted":true}'),
  validRun('x').replace('"data":{"a":1}', '"data":{"constructor":{"prototype":{"polluted":true}}}'),
];

/** A JSON document as the client sends it: parsed or not, typed right or not. */
const rawBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.constantFrom(
    '{',
    '{"agentId":',
    '[1,2',
    'null',
    'true',
    '"string"',
    '{"a":1,}',
    "{'a':1}",
    'NaN',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    nested(10_000, '1'),
    `{"a":${nested(5_000, '{}')}}`,
    '{"agentId":"x","plan":{"steps":[]},"budget":{"maxCostMicros":1e400}}',
    '\ufeff{}',
    // Valid runs but for one lone surrogate or one poisoning key: these must not write either.
    ...hostileRuns,
  ),
  fc
    .record({
      agentId: fc.oneof(text, hugeNumbers, fc.constant(null)),
      plan: fc.oneof(
        fc.record({
          steps: fc.array(
            fc.record(
              {
                skill: fc.oneof(text, fc.constantFrom('llm_invoke', 'json_transform', '__proto__')),
                input: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(deepObject(200))),
                retry: fc.record({ maxAttempts: fc.oneof(hugeNumbers, fc.integer()) }),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
        }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      budget: fc.oneof(fc.record({ maxCostMicros: fc.oneof(hugeNumbers, fc.integer(), text) }), fc.string()),
      seed: fc.oneof(hugeNumbers, text, fc.constant(-1)),
    })
    // An unknown key keeps even a well-typed draw invalid: these requests must not write.
    .map((value) => JSON.stringify({ ...value, unexpected: true })),
  text,
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json, text/plain',
  'garbage',
);

/** Path segments, already encoded for the URL. */
const ids = fc.oneof(
  fc.constantFrom(
    '..%2F..%2Fetc%2Fpasswd',
    '..%2F..%2F..%2Fetc',
    '%2e%2e%2f%2e%2e%2f',
    '..',
    '.',
    '%00',
    '%',
    '%ZZ',
    '%E0%A4%A',
    '%C0%AE%C0%AE%2F',
    'a%2Fb',
    '00000000-0000-0000-0000-000000000000',
    'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    '123e4567-e89b-12d3-a456-426614174000',
    'x'.repeat(200),
    '%F0%9F%98%80',
    '%ED%A0%80',
    'system',
    'runs',
  ),
  fc.uuid().map((id) => id),
  text.map((value) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '?')) || 'x'),
);

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
/** Cursors of the right shape (a JSON array of strings) with contents no page would hold. */
const wrongCursors = [
  cursorOf(['not-a-date', 'x']),
  cursorOf(['abc', 'def']),
  cursorOf(['1', 'not-a-uuid']),
  cursorOf(['99999999999999999999', '123e4567-e89b-12d3-a456-426614174000']),
  cursorOf(['0000-01-01T00:00:00Z', '123e4567-e89b-12d3-a456-426614174000']),
  cursorOf(['-1']),
];
/** Dates PostgreSQL cannot read (year 0000), and ones a `days` window reaches before year 1 from. */
const earlyDates = [
  '0000-01-01T00:00:00Z',
  '0000-12-31',
  '0001-01-01T00:00:00Z',
  '0001-01-05',
  '0000-06-01T00:00:00+01:00',
];

const queryValue = fc.oneof(
  fc.constantFrom(...wrongCursors, ...earlyDates),
  fc.constantFrom(
    'json',
    'csv',
    'jsonl',
    'day',
    'skill',
    'true',
    '0',
    '-1',
    '1e309',
    'NaN',
    '2026-13-45',
    '',
  ),
  fc.integer().map(String),
  hugeNumbers.map(String),
  text.map((value) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '?'))),
  fc.constantFrom('%', '%ZZ', '%E0%A4%A', '%00', 'a&b', '[]'),
);
const queryKey = fc.oneof(
  fc.constantFrom(
    'limit',
    'cursor',
    'format',
    'start_time',
    'end_time',
    'start_date',
    'end_date',
    'status',
    'from',
    'group_by',
    'source',
    'days',
    'offset',
    'tenant_id',
    'entity_type',
    '__proto__',
    'constructor',
    'limit[]',
    'a[b]',
  ),
  fc.string({ maxLength: 8 }).map((key) => encodeURIComponent(key.replace(/[\ud800-\udfff]/g, '?')) || 'k'),
);
const query = fc
  .array(fc.tuple(queryKey, queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

/** Header values Node accepts (visible ASCII and Latin-1), plus a few it reads oddly. */
const headerValue = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  }),
  fc.constantFrom('', ' ', 'x'.repeat(8000), '\u00ff\u00e9', 'a\tb'),
);
const authorizations = fc.oneof(
  fc.constant('good'),
  fc.constant('good'),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer  x y', 'Bearer \u00ff', 'Token abc'),
  headerValue.map((value) => `Bearer ${value}`),
);
const extraHeaders = fc.record(
  {
    'idempotency-key': headerValue,
    'content-length': fc.constantFrom('0', '-1', 'abc', '99999999999'),
    'x-forwarded-for': headerValue,
    accept: fc.constantFrom('text/csv', '*/*', 'application/xml', ''),
    'transfer-encoding': fc.constant('chunked'),
  },
  { requiredKeys: [] },
);

const errorShape = (body: unknown) => {
  const error = (body as { error?: { code?: unknown; message?: unknown } })?.error;
  return typeof error?.code === 'string' && typeof error?.message === 'string';
};

describe('every route under fuzzed input', () => {
  let app: TestApp;
  let admin: string;
  let before: number;
  beforeAll(async () => {
    app = await startTestApp('pglite', { AOS_EXECUTOR: 'off', AOS_RATE_LIMIT_PER_MINUTE: '1000000' });
    admin = await app.keyFor('fuzz', 'admin');
    before = await countEvents(app.store);
  });
  afterAll(() => app.stop());

  it('refuses NUL characters (PostgreSQL text cannot hold them) in paths, queries and bodies with a 400', async () => {
    const cases = [
      { method: 'GET' as const, url: '/status_history/entity/%00/x', key: admin },
      { method: 'GET' as const, url: '/v1/runs?agent=a%00b', key: admin },
      { method: 'GET' as const, url: '/v1/status-history?entity_id=%00&format=csv', key: admin },
      {
        method: 'POST' as const,
        url: '/v1/admin/keys',
        key: SYSTEM_KEY,
        body: { tenant: 't', role: 'viewer', label: 'a\u0000' },
      },
      { method: 'POST' as const, url: '/v1/simulate', key: admin, body: { agentId: '\u0000' } },
    ];
    for (const { method, url, key, body } of cases) {
      const response = await app.request(method, url, { key, ...(body ? { body } : {}) });
      expect(response.status, url).toBe(400);
      expect(response.body.error.code).toBe('INVALID_INPUT');
    }
    expect(await countEvents(app.store)).toBe(before);
  });

  it('refuses a well-formed run whose step input nests too deeply, writing nothing', async () => {
    for (const depth of [100, 5_000, 100_000]) {
      // Sent as text: the test client's own JSON.stringify would overflow first.
      const data = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const payload = `{"agentId":"deep","plan":{"steps":[{"skill":"json_transform","input":{"expression":"a","data":${data}}}]},"budget":{"maxCostMicros":1000}}`;
      const injected = await app.server.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        payload,
      });
      const response = { status: injected.statusCode, body: JSON.parse(injected.body) };
      expect(response.status, `depth ${depth}: ${JSON.stringify(response.body).slice(0, 300)}`).toBeLessThan(
        500,
      );
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(errorShape(response.body)).toBe(true);
    }
    expect(await countEvents(app.store)).toBe(before);
  });

  /** Sends raw text as the body of an authenticated request. */
  const send = async (method: 'GET' | 'POST', url: string, payload?: string) => {
    const injected = await app.server.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload ? { payload } : {}),
    });
    return { status: injected.statusCode, body: JSON.parse(injected.body) };
  };
  const issuePaths = (body: any) => body.error.details.issues.map((issue: { path: unknown[] }) => issue.path);

  it('refuses a lone surrogate in any string of a run (a 500 from hashing before), naming its path', async () => {
    const cases: Array<[string, (string | number)[]]> = [
      [hostileRuns[0]!, ['agentId']],
      [hostileRuns[1]!, ['agentId']],
      [hostileRuns[2]!, ['seed']],
      [hostileRuns[3]!, ['plan', 'steps', 0, 'input', 'expression']],
      [hostileRuns[4]!, ['plan', 'steps', 0, 'input', 'data', '\ud800']],
    ];
    for (const [payload, path] of cases) {
      for (const url of ['/v1/runs', '/v1/simulate']) {
        const response = await send('POST', url, payload);
        expect(response.status, `${url} ${payload}`).toBe(400);
        expect(response.body.error.code).toBe('INVALID_INPUT');
        expect(issuePaths(response.body)).toEqual([path]);
      }
    }
    expect(await countEvents(app.store)).toBe(before);
  });

  it('refuses __proto__ and constructor.prototype keys, naming the key', async () => {
    const proto = await send('POST', '/v1/runs', hostileRuns[5]);
    expect(proto.status).toBe(400);
    expect(proto.body.error.message).toMatch(/__proto__/);
    expect(issuePaths(proto.body)).toEqual([['__proto__']]);
    const prototypeKey = await send('POST', '/v1/runs', hostileRuns[6]);
    expect(prototypeKey.status).toBe(400);
    expect(issuePaths(prototypeKey.body)).toEqual([
      ['plan', 'steps', 0, 'input', 'data', 'constructor', 'prototype'],
    ]);
    expect(await countEvents(app.store)).toBe(before);
  });

  it('refuses cursors of the right shape with the wrong contents with a 400 naming the cursor', async () => {
    for (const url of ['/v1/runs', '/v1/status-history', '/v1/policy-decisions']) {
      for (const cursor of wrongCursors) {
        const response = await send('GET', `${url}?cursor=${cursor}`);
        expect(response.status, `${url} ${Buffer.from(cursor, 'base64url')}`).toBe(400);
        expect(response.body.error).toMatchObject({
          code: 'INVALID_INPUT',
          details: { parameter: 'cursor' },
        });
      }
    }
  });

  it('refuses dates before year 1 (and windows reaching before it) with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/runs?start_time=0000-01-01T00:00:00Z', 'start_time'],
      ['/v1/runs?end_time=0000-12-31T23:59:59Z', 'end_time'],
      ['/v1/runs?start_time=0001-01-01T00:30:00%2B01:00', 'start_time'],
      ['/v1/status-history?start_time=0000-01-01T00:00:00Z', 'start_time'],
      ['/v1/status-history?format=csv&end_time=0000-01-01T00:00:00Z', 'end_time'],
      ['/status_history?start_time=0000-01-01T00:00:00Z', 'start_time'],
      ['/v1/costs?start_date=0000-01-01', 'start_date'],
      ['/v1/costs?end_date=0000-12-31', 'end_date'],
      ['/v1/divergence?start_date=0000-01-01T00:00:00Z', 'start_date'],
      ['/v1/divergence?end_date=0001-01-05T00:00:00Z&days=7', 'days'],
      ['/v1/divergence/daily?end_date=0001-01-02T00:00:00Z', 'days'],
      ['/costsim/divergence?end_date=0001-01-02T00:00:00Z&days=90', 'days'],
    ];
    for (const [url, field] of cases) {
      const response = await send('GET', url);
      expect(response.status, url).toBe(400);
      expect(response.body.error.code).toBe('INVALID_INPUT');
      expect(issuePaths(response.body), url).toEqual([[field]]);
    }
    // Year 1 itself is fine.
    expect((await send('GET', '/v1/runs?start_time=0001-01-01T00:00:00Z')).status).toBe(200);
    expect((await send('GET', '/v1/divergence?end_date=0001-01-09T00:00:00Z&days=7')).status).toBe(200);
  });

  it("answers requests Node's HTTP parser refuses (NUL in a header, a space in the path) in the error shape", async () => {
    const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk;
        });
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    for (const request of [
      `GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-Odd: a\u0000b\r\n\r\n`,
      `GET /v1/a b HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /v1/runs HTTP/1.1\r\nHo st: x\r\n\r\n`,
    ]) {
      const answer = await raw(request);
      const [head, body] = answer.split('\r\n\r\n') as [string, string];
      expect(head, JSON.stringify(request)).toMatch(/^HTTP\/1\.1 400 /);
      expect(head).toMatch(/content-type: application\/json/i);
      const parsed = JSON.parse(body);
      expect(errorShape(parsed)).toBe(true);
      expect(parsed.error.details.reason).toMatch(/^HPE_/);
    }
  });

  for (const { method, url: path, permission } of Object.values(contracts) as RouteContract[]) {
    it(`${method} ${path}: no 5xx, the error shape, nothing written`, async () => {
      const keyFor = (path: string) =>
        path.startsWith('/v1/admin/') ? SYSTEM_KEY : permission ? admin : undefined;
      await fc.assert(
        fc.asyncProperty(
          fc.array(ids, { minLength: 2, maxLength: 2 }),
          query,
          rawBody,
          contentTypes,
          authorizations,
          extraHeaders,
          async ([first, second], search, body, contentType, authorization, headers) => {
            const url = path.replace(/:(\w+)/, first!).replace(/:(\w+)/, second!) + search;
            const key = keyFor(path);
            const response = await app.server
              .inject({
                method,
                url,
                headers: {
                  ...headers,
                  ...(authorization === 'good'
                    ? key
                      ? { authorization: `Bearer ${key}` }
                      : {}
                    : { authorization }),
                  ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': contentType }),
                },
                ...(method === 'GET' ? {} : { payload: body }),
              })
              .catch((error: Error) => {
                // The client library refused to send it (an invalid header): nothing to judge.
                if (/Invalid character|header|content-length/i.test(error.message)) return null;
                throw error;
              });
            if (!response) return;
            const details = `${method} ${url} → ${response.statusCode} ${response.body.slice(0, 300)}`;
            expect(response.statusCode, details).toBeLessThan(500);
            if (response.statusCode >= 400) {
              let parsed: unknown;
              try {
                parsed = JSON.parse(response.body);
              } catch {}
              expect(errorShape(parsed), details).toBe(true);
            }
          },
        ),
        { numRuns: RUNS_PER_ROUTE },
      );
      expect(await countEvents(app.store)).toBe(before);
    }, 60_000);
  }
});
