import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDefaultSkillPort,
  type DefaultSkillPort,
  STUB_MODEL,
  stubAnswer,
} from '../../infra/skills/index.ts';
import { skillCall, startServer, type TestServer } from './support.ts';

const llm = (input: Record<string, unknown>, overrides = {}) => skillCall('llm_invoke', input, overrides);

describe('llm_invoke, the stub model', () => {
  const port = createDefaultSkillPort();
  afterAll(() => port.close());

  it('answers the same output and usage for the same seed, prompt and step, whatever the attempt', async () => {
    const input = { model: STUB_MODEL, prompt: 'Summarise X' };
    const first = await port.invoke(llm(input, { attempt: 1 }));
    const retried = await port.invoke(llm(input, { attempt: 3, runId: 'other-run', idempotencyKey: 'k' }));
    expect(first.ok).toBe(true);
    expect(retried).toEqual(first);
    expect(first).toEqual({
      ok: true,
      output: {
        text: expect.any(String),
        model: 'stub',
        finishReason: expect.stringMatching(/^(stop|length)$/),
      },
      usage: { model: 'stub', inputTokens: 3, outputTokens: expect.any(Number), cachedInputTokens: 0 },
    });
  });

  it('answers differently for another seed, prompt or step', async () => {
    const input = { model: STUB_MODEL, prompt: 'Summarise X' };
    const base = await port.invoke(llm(input));
    const texts = await Promise.all([
      port.invoke(llm(input, { seed: 8 })),
      port.invoke(llm({ ...input, prompt: 'Summarise Y' })),
      port.invoke(llm(input, { stepIndex: 1 })),
    ]);
    for (const other of texts) {
      expect(other.ok && base.ok && other.output).not.toEqual(base.ok && base.output);
    }
  });

  it('counts ceil(chars / 4) prompt tokens over system, prompt and messages; output within maxTokens', async () => {
    const input = {
      model: STUB_MODEL,
      system: 'You are terse.', // 14
      messages: [{ role: 'user', content: 'Hello there' }], // 11
      prompt: 'And now?', // 8, joined by two newlines: 35 chars
      maxTokens: 5,
    };
    const outcome = await port.invoke(llm(input));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.usage).toMatchObject({ inputTokens: 9, cachedInputTokens: 0 });
    expect(outcome.usage!.outputTokens).toBeGreaterThanOrEqual(1);
    expect(outcome.usage!.outputTokens).toBeLessThanOrEqual(5);
    expect((outcome.output as { text: string }).text.split(' ')).toHaveLength(outcome.usage!.outputTokens);
    // Predictable from the exported function, as benchmarks and replay tests need.
    expect(outcome.usage).toEqual(stubAnswer(input as never, 7, 0).usage);
  });

  it('reports cached tokens separately, never also as input tokens', async () => {
    const prompt = 'x'.repeat(400); // 100 tokens
    const outcome = await port.invoke(llm({ model: STUB_MODEL, prompt, stub: { cachedTokens: 30 } }));
    expect(outcome.ok && outcome.usage).toMatchObject({ inputTokens: 70, cachedInputTokens: 30 });
    const capped = await port.invoke(llm({ model: STUB_MODEL, prompt, stub: { cachedTokens: 1000 } }));
    expect(capped.ok && capped.usage).toMatchObject({ inputTokens: 0, cachedInputTokens: 100 });
  });

  it('multiplies usage by iterations', async () => {
    const one = await port.invoke(llm({ model: STUB_MODEL, prompt: 'loop' }));
    const three = await port.invoke(llm({ model: STUB_MODEL, prompt: 'loop', iterations: 3 }));
    expect(one.ok && three.ok).toBe(true);
    if (!one.ok || !three.ok) return;
    expect(three.usage!.outputTokens).toBe(3 * one.usage!.outputTokens);
    expect(three.usage!.inputTokens).toBe(3 * one.usage!.inputTokens);
  });

  it('fails deterministically while attempt <= failAttempts, with the given code and optional usage', async () => {
    const input = {
      model: STUB_MODEL,
      prompt: 'flaky',
      stub: { failAttempts: 2, errorCode: 'RATE_LIMITED', retryAfterMs: 1500, usageOnFailure: true },
    };
    const first = await port.invoke(llm(input, { attempt: 1 }));
    expect(first).toMatchObject({
      ok: false,
      errorCode: 'RATE_LIMITED',
      retryAfterMs: 1500,
      usage: { model: 'stub', inputTokens: 2, outputTokens: 0, cachedInputTokens: 0 },
    });
    const second = await port.invoke(llm(input, { attempt: 2 }));
    expect(second).toEqual({ ...first, message: expect.stringMatching(/attempt 2/) });
    const third = await port.invoke(llm(input, { attempt: 3 }));
    expect(third.ok).toBe(true);
    const plain = await port.invoke(llm({ model: STUB_MODEL, prompt: 'flaky', stub: { failAttempts: 1 } }));
    expect(plain).toEqual({ ok: false, errorCode: 'HTTP_5XX', message: expect.stringMatching(/injected/) });
  });

  it('waits delayMs, abortably: a call timeout shorter than the delay is a TIMEOUT', async () => {
    const started = Date.now();
    const slow = await port.invoke(llm({ model: STUB_MODEL, prompt: 'p', stub: { delayMs: 120 } }));
    expect(slow.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    const timedOut = await port.invoke(
      llm({ model: STUB_MODEL, prompt: 'p', stub: { delayMs: 10_000 } }, { timeoutMs: 50 }),
    );
    expect(timedOut).toMatchObject({ ok: false, errorCode: 'TIMEOUT' });
  });

  it('validates: a prompt or messages, stub options only for the stub model', async () => {
    const none = await port.invoke(llm({ model: STUB_MODEL }));
    expect(none).toMatchObject({ ok: false, errorCode: 'SCHEMA_VALIDATION_FAILED' });
    expect(!none.ok && none.message).toMatch(/prompt: one of prompt or messages is required/);
    const stubOnOther = await port.invoke(llm({ model: 'gpt-4o', prompt: 'p', stub: { failAttempts: 1 } }));
    expect(!stubOnOther.ok && stubOnOther.message).toMatch(/stub: applies to model "stub" only/);
  });

  it('refuses another model clearly when no provider is configured', async () => {
    const outcome = await port.invoke(llm({ model: 'gpt-4o', prompt: 'p' }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'INVALID_INPUT' });
    expect(!outcome.ok && outcome.message).toMatch(/no OpenAI-compatible provider is configured/);
  });

  it('is not side-effecting', () => {
    expect(port.facts('llm_invoke')).toMatchObject({ sideEffecting: false });
  });
});

describe('llm_invoke, the OpenAI-compatible adapter against a local fake provider', () => {
  let provider: TestServer;
  let port: DefaultSkillPort;
  let mode: 'ok' | 'limited' | 'broken' | 'garbage' | 'unauthorised' = 'ok';

  beforeAll(async () => {
    provider = await startServer((request, response, body) => {
      if (request.url !== '/v1/chat/completions' || request.method !== 'POST') {
        response.writeHead(404);
        response.end();
        return;
      }
      const parsed = JSON.parse(body) as { model: string };
      switch (mode) {
        case 'limited':
          response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
          response.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'rate_limit' } }));
          return;
        case 'broken':
          response.writeHead(502);
          response.end('bad gateway');
          return;
        case 'unauthorised':
          response.writeHead(401, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
          return;
        case 'garbage':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"not": "a completion"}');
          return;
        default:
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              id: 'chatcmpl-1',
              object: 'chat.completion',
              model: `${parsed.model}-2024-08-06`,
              choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop' }],
              usage: {
                prompt_tokens: 1200,
                completion_tokens: 40,
                total_tokens: 1240,
                prompt_tokens_details: { cached_tokens: 1024 },
              },
            }),
          );
      }
    });
    port = createDefaultSkillPort({ llm: { baseUrl: `${provider.url}/v1/`, apiKey: 'sk-test' } });
  });

  afterAll(async () => {
    await port.close();
    await provider.close();
  });

  it('posts a chat completion with the bearer key and maps usage, cached tokens apart', async () => {
    mode = 'ok';
    const outcome = await port.invoke(
      llm({ model: 'gpt-4o', system: 'Be brief.', prompt: 'Hello', maxTokens: 100, temperature: 0.2 }),
    );
    expect(outcome).toEqual({
      ok: true,
      output: { text: 'Hi!', model: 'gpt-4o-2024-08-06', finishReason: 'stop' },
      usage: { model: 'gpt-4o', inputTokens: 176, outputTokens: 40, cachedInputTokens: 1024 },
    });
    const seen = provider.requests.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer sk-test');
    expect(JSON.parse(seen.body)).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 100,
      temperature: 0.2,
    });
  });

  it('makes one request per iteration and sums their usage', async () => {
    mode = 'ok';
    const before = provider.requests.length;
    const outcome = await port.invoke(
      llm({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], iterations: 2 }),
    );
    expect(provider.requests.length - before).toBe(2);
    expect(outcome.ok && outcome.usage).toEqual({
      model: 'gpt-4o',
      inputTokens: 352,
      outputTokens: 80,
      cachedInputTokens: 2048,
    });
  });

  it('maps 429 to RATE_LIMITED with Retry-After and the provider message', async () => {
    mode = 'limited';
    const outcome = await port.invoke(llm({ model: 'gpt-4o', prompt: 'p' }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'RATE_LIMITED', retryAfterMs: 3000 });
    expect(!outcome.ok && outcome.message).toMatch(/Rate limit reached/);
  });

  it('maps 5xx to HTTP_5XX, 401 to HTTP_4XX, and a malformed answer to HTTP_5XX', async () => {
    mode = 'broken';
    expect(await port.invoke(llm({ model: 'gpt-4o', prompt: 'p' }))).toMatchObject({
      ok: false,
      errorCode: 'HTTP_5XX',
    });
    mode = 'unauthorised';
    const unauthorised = await port.invoke(llm({ model: 'gpt-4o', prompt: 'p' }));
    expect(unauthorised).toMatchObject({ ok: false, errorCode: 'HTTP_4XX' });
    expect(!unauthorised.ok && unauthorised.message).toMatch(/Incorrect API key/);
    mode = 'garbage';
    expect(await port.invoke(llm({ model: 'gpt-4o', prompt: 'p' }))).toMatchObject({
      ok: false,
      errorCode: 'HTTP_5XX',
    });
  });

  it('still answers the stub model locally', async () => {
    const before = provider.requests.length;
    expect(await port.invoke(llm({ model: 'stub', prompt: 'p' }))).toMatchObject({ ok: true });
    expect(provider.requests.length).toBe(before);
  });
});
