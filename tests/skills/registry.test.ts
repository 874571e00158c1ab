import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultRetryPolicy } from '../../domain/retry.ts';
import { createSkillRegistry, type SkillContext, type SkillDescriptor } from '../../infra/skills/index.ts';
import { skillCall } from './support.ts';

function descriptor<I, O>(
  overrides: Partial<SkillDescriptor<I, O>> & Pick<SkillDescriptor<I, O>, 'invoke'>,
): SkillDescriptor<I, O> {
  return {
    name: 'echo',
    version: '1.0.0',
    inputSchema: z.any() as unknown as z.ZodType<I>,
    outputSchema: z.any() as unknown as z.ZodType<O>,
    costModel: 'free',
    defaultRetry: defaultRetryPolicy,
    sideEffecting: false,
    ...overrides,
  };
}

const echoSchema = z.strictObject({
  text: z.string(),
  options: z.strictObject({ repeat: z.int().min(1) }).optional(),
  tags: z.array(z.string()).optional(),
});

const echo = (version: string, extra: Partial<SkillDescriptor<z.infer<typeof echoSchema>, unknown>> = {}) =>
  descriptor<z.infer<typeof echoSchema>, unknown>({
    version,
    inputSchema: echoSchema,
    outputSchema: z.strictObject({ text: z.string(), version: z.string() }),
    invoke: async (input) => ({
      ok: true,
      output: { text: input.text.repeat(input.options?.repeat ?? 1), version },
    }),
    ...extra,
  });

describe('the skill registry', () => {
  const registry = createSkillRegistry([echo('1.0.0'), echo('1.2.0'), echo('2.0.0'), echo('3.0.0-beta.1')]);

  it('answers SKILL_NOT_FOUND for an unknown skill or version', async () => {
    expect(await registry.invoke(skillCall('nope', {}))).toMatchObject({
      ok: false,
      errorCode: 'SKILL_NOT_FOUND',
      message: 'unknown skill nope',
    });
    const version = await registry.invoke(skillCall('echo', { text: 'a' }, { skillVersion: '9.9.9' }));
    expect(version).toMatchObject({ ok: false, errorCode: 'SKILL_NOT_FOUND' });
    expect(!version.ok && version.message).toMatch(/known: 1\.0\.0, 1\.2\.0, 2\.0\.0, 3\.0\.0-beta\.1/);
    expect(registry.facts('nope')).toBeUndefined();
    expect(registry.facts('echo', '9.9.9')).toBeUndefined();
  });

  it('resolves the latest release, an exact version, or a major/minor prefix', async () => {
    const versionOf = async (skillVersion?: string) => {
      const outcome = await registry.invoke(
        skillCall('echo', { text: 'a' }, skillVersion === undefined ? {} : { skillVersion }),
      );
      return outcome.ok ? (outcome.output as { version: string }).version : outcome.errorCode;
    };
    expect(await versionOf()).toBe('2.0.0');
    expect(await versionOf('latest')).toBe('2.0.0');
    expect(await versionOf('1.0.0')).toBe('1.0.0');
    expect(await versionOf('1')).toBe('1.2.0');
    expect(await versionOf('3.0.0-beta.1')).toBe('3.0.0-beta.1');
    expect(registry.list().map((entry) => entry.version)).toEqual([
      '1.0.0',
      '1.2.0',
      '2.0.0',
      '3.0.0-beta.1',
    ]);
  });

  it('orders pre-releases as semver does: alpha.9 before alpha.10, both before the release', async () => {
    const prereleases = createSkillRegistry([echo('2.0.0-alpha.10'), echo('2.0.0-alpha.9'), echo('1.9.0')]);
    expect(prereleases.list().map((entry) => entry.version)).toEqual([
      '1.9.0',
      '2.0.0-alpha.9',
      '2.0.0-alpha.10',
    ]);
    // Only pre-releases of 2: latest is still the highest release; with none, the highest of all.
    expect(prereleases.resolve('echo')?.version).toBe('1.9.0');
    const only = createSkillRegistry([echo('2.0.0-alpha.10'), echo('2.0.0-alpha.9')]);
    expect(only.resolve('echo', 'latest')?.version).toBe('2.0.0-alpha.10');
    expect(only.resolve('echo', '2')).toBeUndefined();
  });

  it('refuses a malformed registry at construction', () => {
    expect(() => createSkillRegistry([echo('v1.0.0')])).toThrow(/not semver/);
    expect(() => createSkillRegistry([echo('1.0.0+build.5')])).toThrow(/not semver/);
    expect(() => createSkillRegistry([echo('1.0')])).toThrow(/not semver/);
    expect(() => createSkillRegistry([echo('1.0.0'), echo('1.0.0')])).toThrow(/registered twice/);
  });

  it('answers SCHEMA_VALIDATION_FAILED naming every issue path', async () => {
    const outcome = await registry.invoke(
      skillCall('echo', { text: 5, options: { repeat: 0 }, tags: ['a', 3], extra: true }),
    );
    expect(outcome).toMatchObject({ ok: false, errorCode: 'SCHEMA_VALIDATION_FAILED' });
    const message = outcome.ok ? '' : outcome.message;
    expect(message).toMatch(/^input of echo@2\.0\.0 is invalid: /);
    for (const path of ['text:', 'options.repeat:', 'tags[1]:', '(input): Unrecognized key: "extra"']) {
      expect(message).toContain(path);
    }
  });

  it('turns a skill that throws, or rejects with a non-error, into an INTERNAL outcome', async () => {
    const seen: unknown[] = [];
    const broken = createSkillRegistry(
      [
        descriptor({
          name: 'throws',
          invoke: async () => {
            throw new RangeError('index out of range');
          },
        }),
        descriptor({
          name: 'throws-sync',
          invoke: (() => {
            throw 'a string';
          }) as never,
        }),
      ],
      { onInternalError: (error) => seen.push(error) },
    );
    expect(await broken.invoke(skillCall('throws', {}))).toEqual({
      ok: false,
      errorCode: 'INTERNAL',
      message: 'throws@1.0.0 failed: RangeError: index out of range',
    });
    expect(await broken.invoke(skillCall('throws-sync', {}))).toMatchObject({
      ok: false,
      errorCode: 'INTERNAL',
      message: expect.stringContaining('"a string"'),
    });
    expect(seen).toHaveLength(2);
  });

  it('answers INTERNAL when a skill breaks its own output schema', async () => {
    const liar = createSkillRegistry([
      echo('1.0.0', { invoke: async () => ({ ok: true, output: { text: 1 } as never }) }),
    ]);
    const outcome = await liar.invoke(skillCall('echo', { text: 'a' }));
    expect(outcome).toMatchObject({ ok: false, errorCode: 'INTERNAL' });
    expect(!outcome.ok && outcome.message).toMatch(/breaks its schema: text: .*; version:/);
  });

  it('enforces the call timeout with an abort signal, even on a skill that ignores it', async () => {
    let signal: AbortSignal | undefined;
    const slow = createSkillRegistry([
      descriptor({
        name: 'hangs',
        invoke: (_input, context: SkillContext) => {
          signal = context.signal;
          return new Promise(() => {});
        },
      }),
    ]);
    const started = Date.now();
    const outcome = await slow.invoke(skillCall('hangs', {}, { timeoutMs: 100 }));
    expect(outcome).toEqual({
      ok: false,
      errorCode: 'TIMEOUT',
      message: 'hangs did not finish within 100 ms',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(signal?.aborted).toBe(true);
  });

  it('honours the call signal: CANCELLED, whether aborted before or during the call', async () => {
    let started = false;
    const waits = createSkillRegistry([
      descriptor({
        name: 'waits',
        invoke: (_input, context) =>
          new Promise((resolve) => {
            started = true;
            context.signal.addEventListener('abort', () => resolve({ ok: true, output: 'too late' }));
          }),
      }),
    ]);
    const controller = new AbortController();
    const pending = waits.invoke(skillCall('waits', {}, { signal: controller.signal }));
    await expect.poll(() => started).toBe(true);
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, errorCode: 'CANCELLED' });
    expect(await waits.invoke(skillCall('waits', {}, { signal: AbortSignal.abort() }))).toMatchObject({
      ok: false,
      errorCode: 'CANCELLED',
    });
  });

  it('gives facts: the descriptor retry default and a constant side-effecting flag', () => {
    const custom = { ...defaultRetryPolicy, maxAttempts: 7 };
    const withFacts = createSkillRegistry([
      echo('1.0.0', { defaultRetry: custom, sideEffecting: true }),
      descriptor({
        name: 'depends',
        sideEffecting: () => true,
        invoke: async () => ({ ok: true, output: null }),
      }),
    ]);
    expect(withFacts.facts('echo')).toEqual({ defaultRetry: custom, sideEffecting: true });
    // A side effect that depends on the input is left to the domain's per-step rule.
    expect(withFacts.facts('depends')).toEqual({ defaultRetry: defaultRetryPolicy });
  });

  it('never rejects, even for a call that is not an object', async () => {
    await expect(registry.invoke(skillCall('echo', null as never))).resolves.toMatchObject({
      ok: false,
      errorCode: 'SCHEMA_VALIDATION_FAILED',
    });
    await expect(registry.invoke(null as never)).resolves.toMatchObject({ ok: false, errorCode: 'INTERNAL' });
  });
});
