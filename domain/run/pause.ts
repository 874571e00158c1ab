// The run's side of the emergency stop (domain/emergency-stop/decider.ts). The executor asks
// PauseRun when an attempt would start while a stop holds the run's tenant, and ResumeRun
// before the first attempt it starts once the stop is lifted; both are idempotent. A call the
// stop aborted is recorded as a failure with EMERGENCY_STOP (see `stopAbortedRetry`).

import type { RunEvent } from '../events/run-events.ts';
import { normalizeInstant } from '../time.ts';
import type { PauseRun, ResumeRun } from './commands.ts';
import { runEvent } from './emit.ts';
import type { SubmittedRun } from './state.ts';

export function pauseRun(command: PauseRun, run: SubmittedRun): RunEvent[] {
  if (run.paused) return [];
  return [
    runEvent('RunPaused', {
      runId: run.submission.runId,
      stopTenantId: command.stop.tenantId,
      stoppedAt: normalizeInstant(command.stop.at),
      at: normalizeInstant(command.now),
    }),
  ];
}

export function resumeRun(command: ResumeRun, run: SubmittedRun): RunEvent[] {
  if (!run.paused) return [];
  return [runEvent('RunResumed', { runId: run.submission.runId, at: normalizeInstant(command.now) })];
}

/**
 * After a call the stop aborted: its next attempt, due at once (the executor pauses the run
 * before starting it while the stop holds). Not a failure of the step's: no retry policy, no
 * classification; the attempt is not counted (state.ts `withStopAborted`).
 */
export function stopAbortedRetry(
  run: SubmittedRun,
  target: { stepIndex: number; attempt: number; compensation: boolean },
  at: string,
): RunEvent {
  return runEvent('RetryScheduled', {
    runId: run.submission.runId,
    stepIndex: target.stepIndex,
    attempt: target.attempt,
    ...(target.compensation ? { compensation: true as const } : {}),
    nextAttempt: target.attempt + 1,
    errorCode: 'EMERGENCY_STOP',
    delayMs: 0,
    dueAt: at,
    at,
  });
}
