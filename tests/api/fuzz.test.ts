// Every route (the OpenAPI table lists them; tests/api/openapi.test.ts holds it equal to the
// server's routes) under fuzzed input: malformed JSON, wrong types, huge numbers, deep
// nesting, unicode edge cases, odd headers, traversal in ids and odd query strings. Never a
// 5xx, every error in the documented shape, and nothing written to the event store.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeDocs } from '../../api/openapi.ts';
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

const queryValue = fc.oneof(
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

  const routes = Object.keys(routeDocs).map((route) => {
    const [method, path] = route.split(' ') as ['GET' | 'POST' | 'DELETE', string];
    return { route, method, path };
  });

  for (const { route, method, path } of routes) {
    it(`${route}: no 5xx, the error shape, nothing written`, async () => {
      const keyFor = (path: string) =>
        path.startsWith('/v1/admin/') ? SYSTEM_KEY : routeDocs[route]!.action ? admin : undefined;
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
