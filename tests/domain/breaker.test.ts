// The circuit breaker decider: N countable failures within the window open it; open refuses
// with CIRCUIT_OPEN until the cooldown ends; then exactly one call is let through as the
// probe, whose success closes it and whose failure opens it again.
import { describe, expect, it } from 'vitest';
import {
  type BreakerCommand,
  type BreakerEvent,
  breakerDecider,
  breakerSettings,
  breakerTargetOf,
} from '../../domain/breaker/decider.ts';
import { deciderSpec } from './spec.ts';

const spec = deciderSpec(breakerDecider);
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const settings = { failureThreshold: 3, windowMs: 10_000, cooldownMs: 5_000 };
const base = (ms: number, run = 'r1') => ({
  tenantId: 't',
  target: 'http_call:api.example.com',
  settings,
  runId: run,
  stepIndex: 0,
  attempt: 1,
  now: at(ms),
});
const failure = (ms: number, run = 'r1'): BreakerCommand => ({
  type: 'RecordCallOutcome',
  ...base(ms, run),
  ok: false,
  countable: true,
  errorCode: 'HTTP_5XX',
});
const ask = (ms: number, run = 'r1'): BreakerCommand => ({ type: 'AskToCall', ...base(ms, run) });

function history(...commands: BreakerCommand[]): BreakerEvent[] {
  const events: BreakerEvent[] = [];
  let state = breakerDecider.initialState();
  for (const command of commands) {
    for (const event of breakerDecider.decide(command, state)) {
      events.push(event);
      state = breakerDecider.evolve(state, event);
    }
  }
  return events;
}

describe('circuit breaker', () => {
  it('counts failures within the window and opens at the threshold', () => {
    spec
      .given(history(failure(0, 'a'), failure(1_000, 'b')))
      .when(failure(2_000, 'c'))
      .thenMatches([
        { type: 'BreakerFailureRecorded', data: { runId: 'c' } },
        { type: 'BreakerOpened', data: { failures: 3, halfOpenAt: at(7_000) } },
      ]);
    // The first failure has left the window: two count, it stays closed.
    spec
      .given(history(failure(0, 'a'), failure(9_000, 'b')))
      .when(failure(10_500, 'c'))
      .thenMatches([{ type: 'BreakerFailureRecorded' }]);
  });

  it('uncountable failures and successes change nothing while closed', () => {
    spec
      .given([])
      .when({ ...failure(0), countable: false } as BreakerCommand)
      .thenNothing();
    spec
      .given([])
      .when({ type: 'RecordCallOutcome', ...base(0), ok: true, countable: false })
      .thenNothing();
    spec.given([]).when(ask(0)).thenNothing();
  });

  const open = history(failure(0, 'a'), failure(1, 'b'), failure(2, 'c'));

  it('refuses calls until the cooldown ends, then lets exactly one probe through', () => {
    const refused = spec.given(open).when(ask(4_000, 'd')).thenThrows('CIRCUIT_OPEN');
    expect(refused.details).toMatchObject({ halfOpenAt: at(5_002) });
    spec
      .given(open)
      .when(ask(5_002, 'd'))
      .thenMatches([{ type: 'BreakerProbeStarted', data: { runId: 'd' } }]);
    const probing = history(failure(0, 'a'), failure(1, 'b'), failure(2, 'c'), ask(5_002, 'd'));
    spec.given(probing).when(ask(5_003, 'e')).thenThrows('CIRCUIT_OPEN');
    spec.given(probing).when(ask(5_004, 'd')).thenNothing();
  });

  it("the probe's success closes it, its failure opens it again", () => {
    const probing = history(failure(0, 'a'), failure(1, 'b'), failure(2, 'c'), ask(5_002, 'd'));
    spec
      .given(probing)
      .when({ type: 'RecordCallOutcome', ...base(5_100, 'd'), ok: true, countable: false })
      .thenMatches([{ type: 'BreakerClosed', data: { runId: 'd' } }]);
    spec
      .given(probing)
      .when(failure(5_100, 'd'))
      .thenMatches([{ type: 'BreakerOpened', data: { halfOpenAt: at(10_100), probe: { runId: 'd' } } }]);
    // Another call's late failure while the probe is out is not counted.
    spec.given(probing).when(failure(5_100, 'x')).thenNothing();
  });

  it('a probe that never reports gives way to a new one after a cooldown', () => {
    const probing = history(failure(0, 'a'), failure(1, 'b'), failure(2, 'c'), ask(5_002, 'd'));
    spec
      .given(probing)
      .when(ask(10_002, 'e'))
      .thenMatches([{ type: 'BreakerProbeStarted', data: { runId: 'e' } }]);
  });

  it('targets: skill + host, skill + model; settings from the policy or the defaults', () => {
    expect(breakerTargetOf('http_call', { url: 'https://api.example.com:8443/x' })).toBe(
      'http_call:api.example.com:8443',
    );
    expect(breakerTargetOf('llm_invoke', { model: 'gpt-4o', prompt: 'x' })).toBe('llm_invoke:gpt-4o');
    expect(breakerTargetOf('json_transform', {})).toBeUndefined();
    expect(breakerTargetOf('llm_invoke', { model: 'stub', prompt: 'x' })).toBeUndefined();
    expect(breakerSettings({})).toEqual({ failureThreshold: 5, windowMs: 60_000, cooldownMs: 60_000 });
    expect(breakerSettings({ circuitBreaker: { cooldownMs: 1 } })).toMatchObject({ cooldownMs: 1 });
  });
});

describe('breaker fold', () => {
  it('keeps only the latest failures a threshold can count, however many occasional ones came before', () => {
    const failures = Array.from({ length: 1500 }, (_, n) => failure(n * 60_000, `r${n}`));
    const state = history(...failures).reduce(breakerDecider.evolve, breakerDecider.initialState());
    expect(state.status).toBe('closed');
    expect(state.failures).toHaveLength(1000);
    expect(state.failures.at(-1)).toBe(at(1499 * 60_000));
  });
});
