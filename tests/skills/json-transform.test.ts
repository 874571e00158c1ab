import { afterAll, describe, expect, it } from 'vitest';
import { shouldRetry } from '../../domain/retry.ts';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';
import { skillCall } from './support.ts';

describe('json_transform', () => {
  const port = createDefaultSkillPort();
  afterAll(() => port.close());
  const transform = (expression: string, data: unknown) =>
    port.invoke(skillCall('json_transform', { expression, data }));

  it('evaluates JMESPath: the example of the architecture page, projections and functions', async () => {
    expect(await transform('items[0]', { items: [1, 2] })).toEqual({ ok: true, output: { result: 1 } });
    expect(
      await transform('people[?age > `30`].name', {
        people: [
          { name: 'a', age: 31 },
          { name: 'b', age: 20 },
        ],
      }),
    ).toEqual({ ok: true, output: { result: ['a'] } });
    expect(await transform('length(items)', { items: [1, 2, 3] })).toEqual({
      ok: true,
      output: { result: 3 },
    });
  });

  it('answers null when nothing is selected', async () => {
    expect(await transform('missing.field', { items: [] })).toEqual({ ok: true, output: { result: null } });
  });

  it('refuses an invalid expression with INVALID_INPUT and the parser message', async () => {
    const outcome = await transform('items[', { items: [] });
    expect(outcome).toEqual({
      ok: false,
      errorCode: 'INVALID_INPUT',
      message: expect.stringMatching(/^invalid JMESPath expression: ParserError: /),
    });
  });

  it('refuses an expression that fails on the data with INVALID_INPUT', async () => {
    const outcome = await transform('abs(name)', { name: 'x' });
    expect(outcome).toMatchObject({ ok: false, errorCode: 'INVALID_INPUT' });
    expect(!outcome.ok && outcome.message).toMatch(/failed on the data: .*abs\(\)/);
  });

  it('validates its input; its own failures are not retryable, a lost worker is', async () => {
    const outcome = await port.invoke(skillCall('json_transform', { data: {} }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'SCHEMA_VALIDATION_FAILED' });
    expect(!outcome.ok && outcome.message).toMatch(/expression:/);
    expect(port.facts('json_transform')).toEqual({
      defaultRetry: builtinDefaultRetry('json_transform'),
      sideEffecting: false,
    });
    expect(shouldRetry(builtinDefaultRetry('json_transform'), 'SCHEMA_VALIDATION_FAILED', 1)).toBe(false);
    expect(shouldRetry(builtinDefaultRetry('json_transform'), 'INVALID_INPUT', 1)).toBe(false);
    expect(shouldRetry(builtinDefaultRetry('json_transform'), 'WORKER_LOST', 1)).toBe(true);
  });
});
