// The executor's side of the circuit breakers (domain/breaker/decider.ts): before a call to a
// guarded target it asks the target's breaker stream whether the call may go out, and after it
// reports the outcome. Each breaker is kept folded here; a closed one read less than
// FRESH_MS ago is trusted without reading again, so a closed breaker costs no query on the call
// path, and an opening decided by another process is seen within FRESH_MS. Everything this
// process decides goes through handleCommand's expected-version appends, so the breaker
// opens after exactly `failureThreshold` failures and lets exactly one probe through.
import {
  type BreakerCall,
  type BreakerCommand,
  type BreakerSettings,
  type BreakerState,
  type BreakerStatus,
  breakerDecider,
  breakerStreamIdPrefix,
} from '../domain/breaker/decider.ts';
import { isDomainError } from '../domain/domain-error.ts';
import type { ErrorCode } from '../domain/errors.ts';
import { errorCodes } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import type { SkillOutcome } from '../domain/skill.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { handleCommand, type Loaded, loadStream } from './handle-command.ts';

const FRESH_MS = 1_000;
/** Breakers kept folded; the least recently used beyond this are read again when next needed. */
const MAX_CACHED = 1_000;

/** One stream per tenant and target; the target is digested, as a model or host may hold any character. */
export const breakerStreamId = (tenantId: string, target: string) =>
  `${breakerStreamIdPrefix(tenantId)}${sha256Hex(target).slice(0, 32)}`;

/** Failures that say something about the target: retryable ones it answered with, not our own. */
const notTheTargets: readonly ErrorCode[] = [
  'CIRCUIT_OPEN',
  'WORKER_LOST',
  'CANCELLED',
  'EMERGENCY_STOP',
  'INTERNAL',
];
export const countsAgainstTarget = (errorCode: ErrorCode) =>
  errorCodes[errorCode].retryable && !notTheTargets.includes(errorCode);

export interface BreakerGuard {
  tenantId: string;
  target: string;
  settings: BreakerSettings;
  call: BreakerCall;
}

export function createBreakerGate(deps: {
  store: EventStore;
  clock: () => Date;
  onChange?: (tenantId: string, target: string, status: BreakerStatus) => void;
}) {
  const cache = new Map<string, { loaded: Loaded<BreakerState>; readAt: number }>();

  async function current(streamId: string): Promise<Loaded<BreakerState>> {
    const cached = cache.get(streamId);
    const now = deps.clock().getTime();
    if (cached && cached.loaded.state.status === 'closed' && now - cached.readAt < FRESH_MS)
      return cached.loaded;
    const loaded = await loadStream(deps.store, streamId, breakerDecider, cached?.loaded);
    remember(streamId, loaded, now);
    return loaded;
  }

  function remember(streamId: string, loaded: Loaded<BreakerState>, readAt: number) {
    cache.delete(streamId);
    cache.set(streamId, { loaded, readAt });
    if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  }

  async function decide(guard: BreakerGuard, command: BreakerCommand, commandId: string) {
    const streamId = breakerStreamId(guard.tenantId, guard.target);
    const known = await current(streamId);
    const handled = await handleCommand(
      deps.store,
      streamId,
      breakerDecider,
      command,
      {
        commandId,
        metadata: { tenantId: guard.tenantId, actor: 'executor', correlationId: guard.call.runId },
      },
      known,
    );
    remember(streamId, { state: handled.state, version: handled.version }, deps.clock().getTime());
    if (handled.events.length > 0 && handled.state.status !== known.state.status) {
      deps.onChange?.(guard.tenantId, guard.target, handled.state.status);
    }
  }

  const base = (guard: BreakerGuard) => ({
    tenantId: guard.tenantId,
    target: guard.target,
    settings: guard.settings,
    ...guard.call,
    now: deps.clock().toISOString(),
  });
  const callId = ({ runId, stepIndex, attempt }: BreakerCall) => `${runId}:${stepIndex}:${attempt}`;

  return {
    /** Whether the call may go out; when not, the breaker's half-open time. */
    async ask(guard: BreakerGuard): Promise<{ ok: true } | { ok: false; halfOpenAt: string }> {
      try {
        await decide(guard, { type: 'AskToCall', ...base(guard) }, `ask:${callId(guard.call)}`);
        return { ok: true };
      } catch (error) {
        if (!isDomainError(error) || error.code !== 'CIRCUIT_OPEN') throw error;
        return { ok: false, halfOpenAt: String(error.details.halfOpenAt) };
      }
    },

    /** Reports the call's outcome: a counted failure, or the probe's success or failure. */
    async record(guard: BreakerGuard, outcome: SkillOutcome): Promise<void> {
      const command: BreakerCommand = outcome.ok
        ? { type: 'RecordCallOutcome', ...base(guard), ok: true, countable: false }
        : {
            type: 'RecordCallOutcome',
            ...base(guard),
            ok: false,
            countable: countsAgainstTarget(outcome.errorCode),
            errorCode: outcome.errorCode,
          };
      await decide(guard, command, `outcome:${callId(guard.call)}`);
    },
  };
}

export type BreakerGate = ReturnType<typeof createBreakerGate>;
