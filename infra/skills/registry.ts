// The skill registry: versioned descriptors behind the executor's SkillPort. The registry
// owns everything a skill should not have to get right on its own: resolving the name and
// version, validating the input against the descriptor's schema, the call's deadline and
// cancellation, checking the output, and turning ANY thrown error into an outcome.
// `invoke` never rejects.
import semver from 'semver';
import type { z } from 'zod';
import type { SkillCall, SkillPort } from '../../commands/skill-port.ts';
import type { ErrorCode } from '../../domain/errors.ts';
import type { RetryPolicy } from '../../domain/retry.ts';
import type { SkillOutcome, TokenUsage } from '../../domain/skill.ts';
import type { SkillFacts } from '../../domain/skill-catalog.ts';
import type { StepInput } from '../../domain/step-input.ts';

/** What a skill gets besides its validated input. */
export interface SkillContext {
  /** The call as the executor made it (tenant, run, step, attempt, seed, idempotency key). */
  call: SkillCall;
  /** Aborted when the call's timeout passes or the executor gives the attempt up. */
  signal: AbortSignal;
  /** The injected clock (Retry-After dates are relative to it). */
  now: () => Date;
}

export type SkillFailure = Extract<SkillOutcome, { ok: false }>;

/** A skill's answer: the port's outcome, with the output typed by the descriptor. */
export type SkillResult<Output> =
  | { ok: true; output: Output; usage?: TokenUsage; providerCostMicros?: number }
  | SkillFailure;

export interface SkillDescriptor<Input = unknown, Output = unknown> {
  name: string;
  /** Semantic version, MAJOR.MINOR.PATCH. */
  version: string;
  description?: string;
  /** Parsed (with defaults applied) before `invoke` sees the input. */
  inputSchema: z.ZodType<Input>;
  /** Checked on every successful answer: a skill that breaks its own contract is an INTERNAL failure. */
  outputSchema: z.ZodType<Output>;
  /**
   * How the call is priced. A note only: the static cost and latency the estimators use live
   * in domain/estimate.ts (v1 per skill, v2 from tokens and the price table), and the charge
   * is computed from `usage` by domain/pricing.ts.
   */
  costModel: string;
  defaultRetry: RetryPolicy;
  /** Whether a call changes something somewhere; a function when it depends on the input. */
  sideEffecting: boolean | ((input: StepInput) => boolean);
  invoke(input: Input, context: SkillContext): Promise<SkillResult<Output>>;
}

/** A descriptor whose input and output types have been forgotten, for heterogeneous lists. */
// biome-ignore lint/suspicious/noExplicitAny: the registry validates inputs at run time.
export type AnySkillDescriptor = SkillDescriptor<any, any>;

export interface SkillRegistryOptions {
  now?: () => Date;
  /** Told about every exception a skill threw (the outcome is INTERNAL either way). */
  onInternalError?: (error: unknown, call: SkillCall) => void;
}

export interface SkillRegistry extends SkillPort {
  /** The descriptor a call with this skill and version would use, or undefined. */
  resolve(skill: string, skillVersion?: string): AnySkillDescriptor | undefined;
  /** Every registered descriptor, by name then ascending version. */
  list(): readonly AnySkillDescriptor[];
}

/** A version exactly as semver writes it (no `v` prefix, no build metadata), else undefined. */
function strictSemver(version: string): string | undefined {
  return semver.valid(version) === version ? version : undefined;
}

/** A zod issue path as `headers.accept` / `messages[0].content`; `(input)` for the root. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text.length === 0 ? String(key) : `.${String(key)}`;
  }
  return text.length === 0 ? '(input)' : text;
}

export function failure(
  errorCode: ErrorCode,
  message: string,
  extra: { retryAfterMs?: number; httpStatus?: number; usage?: TokenUsage; providerCostMicros?: number } = {},
): SkillFailure {
  const outcome: SkillFailure = { ok: false, errorCode, message };
  if (extra.retryAfterMs !== undefined) outcome.retryAfterMs = extra.retryAfterMs;
  if (extra.httpStatus !== undefined) outcome.httpStatus = extra.httpStatus;
  if (extra.usage !== undefined) outcome.usage = extra.usage;
  if (extra.providerCostMicros !== undefined) outcome.providerCostMicros = extra.providerCostMicros;
  return outcome;
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return `non-error thrown: ${JSON.stringify(error)}`;
  } catch {
    return 'non-error thrown';
  }
}

/** setTimeout's ceiling; longer delays would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Why the registry aborted a call: the two reasons map to different codes. */
class CallAborted extends Error {
  constructor(
    readonly errorCode: 'TIMEOUT' | 'CANCELLED',
    message: string,
  ) {
    super(message);
    this.name = 'CallAborted';
  }
}

/**
 * A SkillPort over the given descriptors. Throws at construction for a malformed registry
 * (bad version, duplicate name and version); once built, `invoke` never rejects.
 *
 * Version resolution: no version or `latest` → the highest registered version (releases
 * before pre-releases); `1` or `1.2` → the highest version with that prefix; otherwise exact.
 */
export function createSkillRegistry(
  descriptors: readonly AnySkillDescriptor[],
  options: SkillRegistryOptions = {},
): SkillRegistry {
  const now = options.now ?? (() => new Date());
  const byName = new Map<string, Array<{ version: string; descriptor: AnySkillDescriptor }>>();
  for (const descriptor of descriptors) {
    const version = strictSemver(descriptor.version);
    if (!version) {
      throw new TypeError(
        `skill ${descriptor.name}: version ${JSON.stringify(descriptor.version)} is not semver`,
      );
    }
    const versions = byName.get(descriptor.name) ?? [];
    if (versions.some((entry) => entry.descriptor.version === descriptor.version)) {
      throw new TypeError(`skill ${descriptor.name}@${descriptor.version} is registered twice`);
    }
    versions.push({ version, descriptor });
    // semver order: a pre-release before its release, pre-release parts compared numerically
    // where numeric (alpha.9 < alpha.10).
    versions.sort((a, b) => semver.compare(a.version, b.version));
    byName.set(descriptor.name, versions);
  }

  function resolve(skill: string, skillVersion?: string): AnySkillDescriptor | undefined {
    const versions = byName.get(skill);
    if (!versions || versions.length === 0) return undefined;
    if (skillVersion === undefined || skillVersion === '' || skillVersion === 'latest') {
      const releases = versions.filter((entry) => semver.prerelease(entry.version) === null);
      return (releases.at(-1) ?? versions.at(-1))?.descriptor;
    }
    const exact = versions.find((entry) => entry.descriptor.version === skillVersion);
    if (exact) return exact.descriptor;
    if (/^\d+(\.\d+)?$/.test(skillVersion)) {
      // `1` and `1.2` are semver ranges (1.x, 1.2.x), which leave pre-releases out.
      const best = semver.maxSatisfying(
        versions.map((entry) => entry.version),
        skillVersion,
      );
      return versions.find((entry) => entry.version === best)?.descriptor;
    }
    return undefined;
  }

  function facts(skill: string, skillVersion?: string): SkillFacts | undefined {
    const descriptor = resolve(skill, skillVersion);
    if (!descriptor) return undefined;
    const result: SkillFacts = { defaultRetry: descriptor.defaultRetry };
    // A side effect that depends on the input is decided per step by the domain's rule
    // (builtinSideEffecting), which the descriptor's function itself delegates to.
    if (typeof descriptor.sideEffecting === 'boolean') result.sideEffecting = descriptor.sideEffecting;
    return result;
  }

  async function run(descriptor: AnySkillDescriptor, call: SkillCall): Promise<SkillOutcome> {
    const parsed = descriptor.inputSchema.safeParse(call.input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
      return failure(
        'SCHEMA_VALIDATION_FAILED',
        `input of ${descriptor.name}@${descriptor.version} is invalid: ${issues.join('; ')}`,
      );
    }

    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onCallAbort: (() => void) | undefined;
    const aborted = new Promise<SkillOutcome>((resolveAborted) => {
      const abort = (reason: CallAborted) => {
        if (controller.signal.aborted) return;
        controller.abort(reason);
        resolveAborted(failure(reason.errorCode, reason.message));
      };
      const timeoutMs = Number.isFinite(call.timeoutMs) ? Math.max(0, call.timeoutMs) : MAX_TIMER_MS;
      timer = setTimeout(
        () =>
          abort(new CallAborted('TIMEOUT', `${descriptor.name} did not finish within ${call.timeoutMs} ms`)),
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
      if (call.signal) {
        onCallAbort = () =>
          abort(
            new CallAborted(
              'CANCELLED',
              `${descriptor.name} was cancelled: the executor gave the attempt up`,
            ),
          );
        if (call.signal.aborted) onCallAbort();
        else call.signal.addEventListener('abort', onCallAbort, { once: true });
      }
    });

    const context: SkillContext = { call, signal: controller.signal, now };
    const answered = (async (): Promise<SkillOutcome> => {
      if (controller.signal.aborted) return failure('CANCELLED', 'aborted before the call started');
      const result = await descriptor.invoke(parsed.data, context);
      if (!result.ok) return result;
      const output = descriptor.outputSchema.safeParse(result.output);
      if (!output.success) {
        const issues = output.error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
        return failure(
          'INTERNAL',
          `${descriptor.name}@${descriptor.version} answered an output that breaks its schema: ${issues.join('; ')}`,
        );
      }
      return { ...result, output: output.data };
    })().catch((error: unknown): SkillOutcome => {
      // A skill failing because it was aborted is not a bug; the abort has answered already.
      if (!controller.signal.aborted) options.onInternalError?.(error, call);
      return failure('INTERNAL', `${descriptor.name}@${descriptor.version} failed: ${describeThrown(error)}`);
    });

    try {
      // Once aborted, the answer is the abort's, whatever the skill says later (it may even
      // ignore its signal and never settle).
      return await Promise.race([aborted, answered]);
    } finally {
      clearTimeout(timer);
      if (onCallAbort) call.signal?.removeEventListener('abort', onCallAbort);
    }
  }

  async function invoke(call: SkillCall): Promise<SkillOutcome> {
    try {
      const descriptor = resolve(call.skill, call.skillVersion);
      if (!descriptor) {
        const known = byName.get(call.skill);
        const message = known
          ? `skill ${call.skill} has no version ${call.skillVersion} (known: ${known.map((entry) => entry.descriptor.version).join(', ')})`
          : `unknown skill ${call.skill}`;
        return failure('SKILL_NOT_FOUND', message);
      }
      return await run(descriptor, call);
    } catch (error) {
      // Only reachable through a bug in the registry itself; still never reject.
      options.onInternalError?.(error, call);
      return failure('INTERNAL', `skill registry failed: ${describeThrown(error)}`);
    }
  }

  function list(): readonly AnySkillDescriptor[] {
    return [...byName.keys()]
      .sort()
      .flatMap((name) => (byName.get(name) ?? []).map((entry) => entry.descriptor));
  }

  return { invoke, facts, resolve, list };
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
