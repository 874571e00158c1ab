import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import {
  createDefaultSkillPort,
  createHttpCallSkill,
  createSkillRegistry,
  type DefaultSkillPort,
} from '../../infra/skills/index.ts';
import { freePort } from '../support/free-port.ts';
import { skillCall, startServer, type TestServer } from './support.ts';

const NOW = new Date('2025-01-01T00:00:00.000Z');

let server: TestServer;
let port: DefaultSkillPort;

beforeAll(async () => {
  server = await startServer((request, response, body) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    switch (path) {
      case '/json':
        response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-trace': 'abc' });
        response.end(JSON.stringify({ hello: 'world', items: [1, 2] }));
        return;
      case '/text':
        response.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=secret' });
        response.end('plain text');
        return;
      case '/empty':
        response.writeHead(204);
        response.end();
        return;
      case '/echo':
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ method: request.method, body }));
        return;
      case '/not-found':
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('no such thing');
        return;
      case '/broken':
        response.writeHead(500);
        response.end('boom');
        return;
      case '/unavailable':
        response.writeHead(503, { 'retry-after': '2' });
        response.end();
        return;
      case '/request-timeout':
        response.writeHead(408);
        response.end();
        return;
      case '/limited-seconds':
        response.writeHead(429, { 'retry-after': '7' });
        response.end('slow down');
        return;
      case '/limited-date':
        response.writeHead(429, { 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' });
        response.end();
        return;
      case '/redirect':
        response.writeHead(302, { location: '/json' });
        response.end();
        return;
      case '/hang':
        // Never answers.
        return;
      case '/huge-declared':
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(2_000_000) });
        response.write('x'.repeat(1000));
        return;
      case '/huge-streamed': {
        // No Content-Length: chunks until the client goes away.
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 120);
        const timer = setInterval(() => {
          if (response.destroyed || response.writableEnded) return;
          response.write(chunk);
        }, 1);
        response.on('close', () => {
          clearInterval(timer);
          streamedClosed = true;
        });
        return;
      }
      default:
        response.writeHead(200);
        response.end('ok');
    }
  });
  port = createDefaultSkillPort({ allowHosts: ['127.0.0.1'], now: () => NOW });
});

let streamedClosed = false;

afterAll(async () => {
  await port.close();
  await server.close();
});

const get = (path: string, extra: Record<string, unknown> = {}, overrides = {}) =>
  port.invoke(skillCall('http_call', { url: `${server.url}${path}`, ...extra }, overrides));

describe('http_call against a local server', () => {
  it('answers 2xx JSON parsed, with the response headers', async () => {
    const outcome = await get('/json');
    expect(outcome).toEqual({
      ok: true,
      output: {
        status: 200,
        headers: expect.objectContaining({
          'content-type': 'application/json; charset=utf-8',
          'x-trace': 'abc',
        }),
        body: { hello: 'world', items: [1, 2] },
      },
    });
  });

  it('answers 2xx text as text, without set-cookie, and an empty body as null', async () => {
    const text = await get('/text');
    expect(text.ok && text.output).toMatchObject({ status: 200, body: 'plain text' });
    expect(
      text.ok && (text.output as { headers: Record<string, string> }).headers['set-cookie'],
    ).toBeUndefined();
    const empty = await get('/empty');
    expect(empty.ok && empty.output).toMatchObject({ status: 204, body: null });
  });

  it('maps 4xx to HTTP_4XX (non-retryable) with the body in the message', async () => {
    const outcome = await get('/not-found');
    expect(outcome).toMatchObject({ ok: false, errorCode: 'HTTP_4XX' });
    expect(!outcome.ok && outcome.message).toMatch(/404: no such thing/);
  });

  it('maps 5xx to HTTP_5XX, honouring Retry-After on a 503', async () => {
    expect(await get('/broken')).toMatchObject({ ok: false, errorCode: 'HTTP_5XX' });
    expect(await get('/unavailable')).toMatchObject({ ok: false, errorCode: 'HTTP_5XX', retryAfterMs: 2000 });
  });

  it('maps 408 to TIMEOUT and does not follow a redirect', async () => {
    expect(await get('/request-timeout')).toMatchObject({ ok: false, errorCode: 'TIMEOUT' });
    const redirect = await get('/redirect');
    expect(redirect).toMatchObject({ ok: false, errorCode: 'HTTP_4XX' });
    expect(!redirect.ok && redirect.message).toMatch(/redirects are not followed \(Location: \/json\)/);
  });

  it('maps 429 to RATE_LIMITED with Retry-After in seconds', async () => {
    const outcome = await get('/limited-seconds');
    expect(outcome).toEqual({
      ok: false,
      errorCode: 'RATE_LIMITED',
      message: expect.any(String),
      retryAfterMs: 7000,
      httpStatus: 429,
    });
  });

  it('maps 429 with a Retry-After date, measured from the injected clock', async () => {
    expect(await get('/limited-date')).toMatchObject({
      ok: false,
      errorCode: 'RATE_LIMITED',
      retryAfterMs: 30_000,
    });
  });

  it('times out a server that never answers: the call timeout and the input timeout', async () => {
    const started = Date.now();
    expect(await get('/hang', {}, { timeoutMs: 200 })).toMatchObject({ ok: false, errorCode: 'TIMEOUT' });
    const own = await get('/hang', { timeoutMs: 150 }, { timeoutMs: 10_000 });
    expect(own).toMatchObject({ ok: false, errorCode: 'TIMEOUT' });
    expect(!own.ok && own.message).toMatch(/timeoutMs of 150 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('refuses a body over the cap: a declared Content-Length and a streamed one, aborting the download', async () => {
    expect(await get('/huge-declared')).toMatchObject({ ok: false, errorCode: 'RESPONSE_TOO_LARGE' });
    const streamed = await get('/huge-streamed', { maxResponseBytes: 100_000 });
    expect(streamed).toMatchObject({ ok: false, errorCode: 'RESPONSE_TOO_LARGE' });
    await expect.poll(() => streamedClosed, { timeout: 2_000 }).toBe(true);
  });

  it('maps a refused connection to CONNECTION_REFUSED', async () => {
    const closed = await freePort();
    const outcome = await port.invoke(skillCall('http_call', { url: `http://127.0.0.1:${closed}/` }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'CONNECTION_REFUSED' });
  });

  it('requires an idempotency key for a POST, and sends nothing without one', async () => {
    const before = server.requests.length;
    const outcome = await get('/echo', { method: 'POST', body: { a: 1 } });
    expect(outcome).toMatchObject({ ok: false, errorCode: 'MISSING_IDEMPOTENCY_KEY' });
    expect(server.requests.length).toBe(before);
  });

  it('sends the idempotency key as the Idempotency-Key header, and a JSON body as JSON', async () => {
    const outcome = await get('/echo', { method: 'post', body: { a: 1 }, idempotencyKey: 'order-42' });
    expect(outcome).toMatchObject({
      ok: true,
      output: { status: 201, body: { method: 'POST', body: '{"a":1}' } },
    });
    const seen = server.requests.at(-1)!;
    expect(seen.headers['idempotency-key']).toBe('order-42');
    expect(seen.headers['content-type']).toBe('application/json');
  });

  it('accepts the key as an Idempotency-Key header, and refuses two different keys', async () => {
    const viaHeader = await get('/echo', { method: 'DELETE', headers: { 'Idempotency-Key': 'k-1' } });
    expect(viaHeader).toMatchObject({ ok: true, output: { status: 201 } });
    expect(server.requests.at(-1)!.headers['idempotency-key']).toBe('k-1');
    const conflicting = await get('/echo', {
      method: 'PUT',
      headers: { 'idempotency-key': 'k-1' },
      idempotencyKey: 'k-2',
    });
    expect(conflicting).toMatchObject({ ok: false, errorCode: 'INVALID_INPUT' });
  });

  it('sends a string body as is', async () => {
    const outcome = await get('/echo', {
      method: 'PATCH',
      body: 'raw=1',
      headers: { 'content-type': 'text/plain' },
      idempotencyKey: 'p',
    });
    expect(outcome).toMatchObject({ ok: true, output: { body: { method: 'PATCH', body: 'raw=1' } } });
  });

  it('maps a request undici refuses to send (a false Content-Length) to INVALID_INPUT', async () => {
    const outcome = await get('/echo', {
      method: 'POST',
      body: 'x',
      headers: { 'content-length': '999' },
      idempotencyKey: 'cl',
    });
    expect(outcome).toMatchObject({ ok: false, errorCode: 'INVALID_INPUT' });
  });

  it('validates the input: only http(s) URLs and known methods', async () => {
    const ftp = await port.invoke(skillCall('http_call', { url: 'ftp://example.com/file' }));
    expect(ftp).toMatchObject({ ok: false, errorCode: 'SCHEMA_VALIDATION_FAILED' });
    expect(!ftp.ok && ftp.message).toMatch(/url:/);
    const trace = await get('/json', { method: 'TRACE' });
    expect(trace).toMatchObject({ ok: false, errorCode: 'SCHEMA_VALIDATION_FAILED' });
    expect(!trace.ok && trace.message).toMatch(/method:/);
  });

  it('is side-effecting for unsafe methods only; its retry default is the domain builtin', () => {
    const http = createHttpCallSkill();
    const sideEffecting = http.descriptor.sideEffecting as (input: Record<string, unknown>) => boolean;
    expect(sideEffecting({ url: 'http://x/', method: 'GET' })).toBe(false);
    expect(sideEffecting({ url: 'http://x/', method: 'post' })).toBe(true);
    expect(port.facts('http_call')).toEqual({ defaultRetry: builtinDefaultRetry('http_call') });
    void http.close();
  });
});

describe('http_call address guard', () => {
  const unguarded = createDefaultSkillPort();
  afterAll(() => unguarded.close());

  const forbidden = [
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '[::1]',
    '[::]',
    '[::ffff:127.0.0.1]',
    '[::ffff:169.254.169.254]',
    '[::ffff:a00:1]',
    '[fe80::1]',
    '[fd00:ec2::254]',
    '2130706433',
    '0x7f.1',
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
  ];

  it.each(forbidden)('refuses http://%s with LOCAL_URL_FORBIDDEN, before connecting', async (host) => {
    const outcome = await unguarded.invoke(
      skillCall('http_call', { url: `http://${host}:${server.port}/json` }),
    );
    expect(outcome).toMatchObject({ ok: false, errorCode: 'LOCAL_URL_FORBIDDEN' });
  });

  it('refuses the real server on 127.0.0.1 without the allow-list', async () => {
    const before = server.requests.length;
    const outcome = await unguarded.invoke(skillCall('http_call', { url: `${server.url}/json` }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'LOCAL_URL_FORBIDDEN' });
    expect(server.requests.length).toBe(before);
  });

  it('refuses localhost, a local name, before looking it up, even when 127.0.0.1 is allow-listed', async () => {
    const before = server.requests.length;
    const outcome = await port.invoke(
      skillCall('http_call', { url: `http://localhost:${server.port}/json` }),
    );
    expect(outcome).toMatchObject({ ok: false, errorCode: 'LOCAL_URL_FORBIDDEN' });
    expect(!outcome.ok && outcome.message).toMatch(/local name/);
    expect(server.requests.length).toBe(before);
  });

  describe('with a resolver under the test’s control (DNS rebinding)', () => {
    let answer: LookupAddress[] = [];
    const lookup = (
      hostname: string,
      _options: unknown,
      callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
    ) => {
      if (hostname.endsWith('.invalid')) {
        const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        error.code = 'ENOTFOUND';
        callback(error, []);
        return;
      }
      callback(null, answer);
    };
    const http = createHttpCallSkill({ allowHosts: ['trusted.test'], lookup });
    const registry = createSkillRegistry([http.descriptor]);
    afterAll(() => http.close());

    it('refuses a name that resolves to loopback, or to any forbidden address among several', async () => {
      answer = [{ address: '127.0.0.1', family: 4 }];
      const rebound = await registry.invoke(
        skillCall('http_call', { url: `http://rebind.test:${server.port}/json` }),
      );
      expect(rebound).toMatchObject({ ok: false, errorCode: 'LOCAL_URL_FORBIDDEN' });
      answer = [
        { address: '93.184.216.34', family: 4 },
        { address: '::ffff:10.1.2.3', family: 6 },
      ];
      const mixed = await registry.invoke(
        skillCall('http_call', { url: `http://mixed.test:${server.port}/json` }),
      );
      expect(mixed).toMatchObject({ ok: false, errorCode: 'LOCAL_URL_FORBIDDEN' });
    });

    it('connects to an allow-listed name even though it resolves to loopback', async () => {
      answer = [{ address: '127.0.0.1', family: 4 }];
      const outcome = await registry.invoke(
        skillCall('http_call', { url: `http://trusted.test:${server.port}/json` }),
      );
      expect(outcome).toMatchObject({
        ok: true,
        output: { status: 200, body: { hello: 'world', items: [1, 2] } },
      });
    });

    it('maps a name that does not resolve to DNS_FAILURE', async () => {
      const outcome = await registry.invoke(skillCall('http_call', { url: 'http://nowhere.invalid/' }));
      expect(outcome).toMatchObject({ ok: false, errorCode: 'DNS_FAILURE' });
    });
  });
});
