// The run's side of the emergency stop: PauseRun / ResumeRun (idempotent; the run shows
// `paused` meanwhile and starts no attempt), and a call the stop aborted (EMERGENCY_STOP):
// retried at once, not classified, not counted against maxAttempts, charged only what the
// skill reported. Every history certifies.
import { describe, expect, it } from 'vitest';
import { withFailureCatalogHash } from '../../../domain/failure-catalog.ts';
import { defaultFailureCatalog } from '../../../domain/failure-catalog-default.ts';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { foldRun, isSubmitted } from '../../../domain/run/state.ts';
import { at, evaluate, history, operator, spec, start, stubUsage, submit, succeed } from './fixtures.ts';

const single = submit({
  plan: {
    steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'Hi' }, retry: { maxAttempts: 1 } }],
  },
});
const pause = (ms: number, tenantId: string | null = 'tenant-1'): RunCommand => ({
  type: 'PauseRun',
  stop: { tenantId, at: at(ms - 1) },
  now: at(ms),
});
const resume = (ms: number): RunCommand => ({ type: 'ResumeRun', now: at(ms) });
const aborted = (ms: number, usage?: typeof stubUsage): RunCommand => ({
  type: 'RecordOutcome',
  outcome: {
    ok: false,
    errorCode: 'EMERGENCY_STOP',
    message: 'aborted by the emergency stop',
    ...(usage ? { usage } : {}),
  },
  latencyMs: 30,
  failureCatalog: withFailureCatalogHash(defaultFailureCatalog),
  now: at(ms),
});
const statusOf = (events: ReturnType<typeof history>) => {
  const state = foldRun(events);
  return isSubmitted(state) ? state.status : 'none';
};

describe('emergency stop in the run decider', () => {
  const ready = history(single, evaluate(1));

  it('pauses once, refuses to start an attempt while paused, resumes once', () => {
    spec
      .given(ready)
      .when(pause(2))
      .then([
        {
          type: 'RunPaused',
          data: { runId: 'run-1', stopTenantId: 'tenant-1', stoppedAt: at(1), at: at(2) },
        },
      ]);
    const paused = history(single, evaluate(1), pause(2));
    expect(statusOf(paused)).toBe('paused');
    spec.given(paused).when(pause(3, null)).thenNothing();
    spec
      .given(paused)
      .when(start(3))
      .thenThrows('CONFLICT', /paused by an emergency stop/);
    spec
      .given(paused)
      .when(resume(4))
      .then([{ type: 'RunResumed', data: { runId: 'run-1', at: at(4) } }]);
    spec.given(ready).when(resume(4)).thenNothing();
    const resumed = history(single, evaluate(1), pause(2), resume(4), start(5), succeed(6));
    expect(statusOf(history(single, evaluate(1), pause(2), resume(4)))).toBe('running');
    expect(statusOf(resumed)).toBe('succeeded');
    expect(certifyRun(resumed)).toMatchObject({ certified: true });
  });

  it('stays paused whatever else is recorded until resumed; a cancel still ends it', () => {
    const cancelled = history(single, evaluate(1), pause(2), {
      type: 'RequestCancel',
      actor: operator,
      reason: 'no longer needed',
      now: at(3),
    });
    expect(statusOf(cancelled)).toBe('paused');
    spec
      .given(cancelled)
      .when(evaluate(4))
      .thenMatches([{ type: 'RunCompleted', data: { status: 'cancelled' } }]);
  });

  it('retries an aborted attempt at once, uncounted and unclassified, charging what the skill reported', () => {
    const inFlight = history(single, evaluate(1), start(2));
    const events = spec
      .given(inFlight)
      .when(aborted(3, stubUsage))
      .thenMatches([
        { type: 'SkillCallFailed', data: { errorCode: 'EMERGENCY_STOP', attempt: 1 } },
        { type: 'CostCharged', data: { attempt: 1, usage: stubUsage } },
        {
          type: 'RetryScheduled',
          data: { attempt: 1, nextAttempt: 2, errorCode: 'EMERGENCY_STOP', delayMs: 0, dueAt: at(3) },
        },
      ]);
    expect(events.some((e) => e.type === 'FailureClassified')).toBe(false);
    // maxAttempts 1: attempt 2 is counted as the first, so its failure is not retried...
    const after = history(
      single,
      evaluate(1),
      start(2),
      aborted(3),
      evaluate(4),
      pause(5),
      resume(9),
      start(10, 'res-2'),
    );
    spec
      .given(after)
      .when({
        type: 'RecordOutcome',
        outcome: { ok: false, errorCode: 'TIMEOUT', message: 'slow' },
        latencyMs: 5,
        now: at(11),
      })
      .thenMatches([
        { type: 'SkillCallFailed', data: { attempt: 2 } },
        { type: 'StepCompleted', data: { outcome: 'failed', attempts: 2 } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
    // ...and its success finishes the run; the whole history certifies.
    const done = history(
      single,
      evaluate(1),
      start(2),
      aborted(3, stubUsage),
      evaluate(4),
      pause(5),
      resume(9),
      start(10, 'res-2'),
      succeed(11),
    );
    expect(statusOf(done)).toBe('succeeded');
    expect(certifyRun(done)).toMatchObject({ certified: true });
  });

  it('an aborted attempt of a run that must end ends it instead of retrying', () => {
    const cancelledInFlight = history(single, evaluate(1), start(2), {
      type: 'RequestCancel',
      actor: operator,
      reason: 'stop it',
      now: at(3),
    });
    spec
      .given(cancelledInFlight)
      .when(aborted(4))
      .thenMatches([
        { type: 'SkillCallFailed', data: { errorCode: 'EMERGENCY_STOP' } },
        { type: 'RunCompleted', data: { status: 'cancelled' } },
      ]);
  });
});
