// A circuit breaker per tenant and target, decided on its own stream. Closed: calls flow, and
// each retryable failure is recorded; `failureThreshold` of them within `windowMs` open it.
// Open: calls are refused (the attempt records CIRCUIT_OPEN and waits) until `halfOpenAt`, a
// cooldown after opening. Then the first call asked for is let through as the probe
// (BreakerProbeStarted) and every other waits: the probe's success closes the breaker, its
// failure opens it again for another cooldown. A probe that never reports (its worker died)
// gives way to a new one after a cooldown.
import type { Decider } from '../decider.ts';
import { DomainError } from '../domain-error.ts';
import type { AosEventData } from '../events/catalog.ts';
import { MAX_BREAKER_FAILURE_THRESHOLD } from '../policy.ts';
import { addMs, instantMs, normalizeInstant } from '../time.ts';

export const DEFAULT_BREAKER_SETTINGS = { failureThreshold: 5, windowMs: 60_000, cooldownMs: 60_000 };
export type BreakerSettings = typeof DEFAULT_BREAKER_SETTINGS;

export type BreakerEvent =
  | { type: 'BreakerFailureRecorded'; data: AosEventData<'BreakerFailureRecorded'> }
  | { type: 'BreakerOpened'; data: AosEventData<'BreakerOpened'> }
  | { type: 'BreakerProbeStarted'; data: AosEventData<'BreakerProbeStarted'> }
  | { type: 'BreakerClosed'; data: AosEventData<'BreakerClosed'> };

export interface BreakerCall {
  runId: string;
  stepIndex: number;
  attempt: number;
}

export type BreakerStatus = 'closed' | 'open' | 'half_open';

export interface BreakerState {
  status: BreakerStatus;
  /** Closed: when the latest failures happened (the decision counts those inside the window). */
  failures: string[];
  /** Open: calls are refused before this; half-open: when the probe may be replaced. */
  halfOpenAt: string | null;
  probe: (BreakerCall & { at: string }) | null;
  /** When it last changed state. */
  since: string | null;
}

export interface BreakerTarget {
  tenantId: string;
  target: string;
  settings: BreakerSettings;
  now: string;
}

/** May this call go out? Refused with CIRCUIT_OPEN (details.halfOpenAt) when not. */
export interface AskToCall extends BreakerTarget, BreakerCall {
  type: 'AskToCall';
}

export interface RecordCallOutcome extends BreakerTarget, BreakerCall {
  type: 'RecordCallOutcome';
  /** Did the call succeed; a failure counts only when `countable` (a retryable failure of the target). */
  ok: boolean;
  countable: boolean;
  errorCode?: AosEventData<'BreakerFailureRecorded'>['errorCode'];
}

export type BreakerCommand = AskToCall | RecordCallOutcome;

export const breakerStreamIdPrefix = (tenantId: string) => `breaker-${tenantId}-`;

const sameCall = (a: BreakerCall | null, b: BreakerCall) =>
  a !== null && a.runId === b.runId && a.stepIndex === b.stepIndex && a.attempt === b.attempt;

const callOf = (c: BreakerCall): BreakerCall => ({
  runId: c.runId,
  stepIndex: c.stepIndex,
  attempt: c.attempt,
});

function evolve(state: BreakerState, event: BreakerEvent): BreakerState {
  switch (event.type) {
    case 'BreakerFailureRecorded':
      // The last failures only: a threshold never exceeds them, so the fold does not grow
      // with a target's history of occasional failures.
      return { ...state, failures: [...state.failures, event.data.at].slice(-MAX_BREAKER_FAILURE_THRESHOLD) };
    case 'BreakerOpened':
      return {
        status: 'open',
        failures: [],
        halfOpenAt: event.data.halfOpenAt,
        probe: null,
        since: event.data.at,
      };
    case 'BreakerProbeStarted': {
      const { runId, stepIndex, attempt, at } = event.data;
      return { ...state, status: 'half_open', probe: { runId, stepIndex, attempt, at }, since: at };
    }
    case 'BreakerClosed':
      return { status: 'closed', failures: [], halfOpenAt: null, probe: null, since: event.data.at };
  }
}

function opened(command: BreakerTarget, failures: number, at: string, probe?: BreakerCall): BreakerEvent {
  const { tenantId, target, settings } = command;
  return {
    type: 'BreakerOpened',
    data: {
      tenantId,
      target,
      failures,
      windowMs: settings.windowMs,
      cooldownMs: settings.cooldownMs,
      halfOpenAt: addMs(at, settings.cooldownMs),
      ...(probe ? { probe: callOf(probe) } : {}),
      at,
    },
  };
}

function refuse(command: BreakerTarget, until: string): never {
  throw new DomainError('CIRCUIT_OPEN', `the circuit breaker of ${command.target} is open until ${until}`, {
    target: command.target,
    halfOpenAt: until,
  });
}

function askToCall(command: AskToCall, state: BreakerState): BreakerEvent[] {
  const at = normalizeInstant(command.now);
  if (state.status === 'closed') return [];
  if (state.status === 'half_open' && sameCall(state.probe, command)) return [];
  // Open before its cooldown, or half-open with a probe out that may still report.
  const probeExpiresAt = state.probe ? addMs(state.probe.at, command.settings.cooldownMs) : null;
  const until = state.status === 'open' ? state.halfOpenAt! : probeExpiresAt!;
  if (instantMs(at) < instantMs(until)) refuse(command, until);
  const { tenantId, target } = command;
  return [{ type: 'BreakerProbeStarted', data: { tenantId, target, ...callOf(command), at } }];
}

function recordCallOutcome(command: RecordCallOutcome, state: BreakerState): BreakerEvent[] {
  const at = normalizeInstant(command.now);
  const { tenantId, target, settings } = command;
  if (state.status === 'half_open' && sameCall(state.probe, command)) {
    if (command.ok) return [{ type: 'BreakerClosed', data: { tenantId, target, ...callOf(command), at } }];
    return [opened(command, 1, at, command)];
  }
  if (state.status !== 'closed' || command.ok || !command.countable) return [];
  const recorded: BreakerEvent = {
    type: 'BreakerFailureRecorded',
    data: { tenantId, target, ...callOf(command), errorCode: command.errorCode ?? 'INTERNAL', at },
  };
  const windowStart = instantMs(at) - settings.windowMs;
  const inWindow = [...state.failures, at].filter((when) => instantMs(when) > windowStart).length;
  return inWindow >= settings.failureThreshold ? [recorded, opened(command, inWindow, at)] : [recorded];
}

export const breakerDecider: Decider<BreakerState, BreakerCommand, BreakerEvent> = {
  initialState: () => ({ status: 'closed', failures: [], halfOpenAt: null, probe: null, since: null }),
  evolve,
  decide: (command, state) =>
    command.type === 'AskToCall' ? askToCall(command, state) : recordCallOutcome(command, state),
};

/** The breaker's settings: the tenant policy's, else the defaults. */
export function breakerSettings(rules: {
  circuitBreaker?: Partial<BreakerSettings> | undefined;
}): BreakerSettings {
  const set = rules.circuitBreaker ?? {};
  return {
    failureThreshold: set.failureThreshold ?? DEFAULT_BREAKER_SETTINGS.failureThreshold,
    windowMs: set.windowMs ?? DEFAULT_BREAKER_SETTINGS.windowMs,
    cooldownMs: set.cooldownMs ?? DEFAULT_BREAKER_SETTINGS.cooldownMs,
  };
}

/** The in-process stub model (infra/skills/llm-stub.ts): no provider behind it to protect. */
const IN_PROCESS_MODEL = 'stub';

/**
 * The target a call is guarded under, or undefined for calls without a remote dependency
 * (transforms, child runs, the stub model, whose failures are injected by the step's own input).
 */
export function breakerTargetOf(skill: string, input: Record<string, unknown>): string | undefined {
  if (skill === 'llm_invoke' && typeof input.model === 'string')
    return input.model === IN_PROCESS_MODEL ? undefined : `${skill}:${input.model}`;
  if (skill === 'http_call' && typeof input.url === 'string') {
    try {
      return `${skill}:${new URL(input.url).host}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
