// The canary's timer in `aos serve`: every tick (a tenth of the interval, at most a minute)
// asks for a scheduled canary, which runs only when none completed within the interval
// (commands/estimator-canary.ts checks it under the lock), so several instances run it once
// per interval between them and a restart neither skips nor repeats one.
import { type CanaryDeps, checkLiveDrift, runCanary } from '../../commands/estimator-canary.ts';

/** How often the live divergence report is handed to the breaker. */
const LIVE_DRIFT_EVERY_MS = 5 * 60_000;

export interface CanarySchedule {
  stop(): Promise<void>;
}

export function scheduleCanary(
  deps: CanaryDeps,
  options: {
    intervalMs: number;
    log: { warn: (o: object, m: string) => void; info: (o: object, m: string) => void };
  },
): CanarySchedule {
  const tickMs = Math.max(100, Math.min(60_000, Math.floor(options.intervalMs / 10)));
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let driftCheckedAt = 0;
  const tick = () => {
    // A canary slower than a tick is not queued behind itself.
    if (busy) return;
    busy = true;
    const checkDrift = Date.now() - driftCheckedAt >= LIVE_DRIFT_EVERY_MS;
    if (checkDrift) driftCheckedAt = Date.now();
    running = (checkDrift ? checkLiveDrift(deps) : Promise.resolve(false))
      .then((disabled) => {
        if (disabled) options.log.warn({}, 'the live divergence report disabled v2 (drift breaker)');
      })
      .then(() => runCanary(deps, 'schedule', options.intervalMs))
      .then((outcome) => {
        if (outcome.ran) {
          const { canaryId, verdict, severity } = outcome.report;
          options.log.info({ canaryId, verdict, severity }, 'estimator canary completed');
        }
      })
      .catch((error: unknown) =>
        options.log.warn({ err: error }, 'estimator canary failed; retried next tick'),
      )
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
