// A sleep that a wake-up cuts short. A wake-up that comes while awake (mid-work) is kept, so
// the next sleep returns at once: nothing announced during a round of work is slept through.

export interface WakeableSleep {
  wake(): void;
  /** Forgets the wake-ups so far: call it before looking at what there is to do. */
  clear(): void;
  /** Whether a wake-up came since the last `clear`. */
  woken(): boolean;
  /** Resolves after `ms` (Infinity: only when woken), or at once if woken since `clear`. */
  sleep(ms: number): Promise<void>;
}

export function wakeableSleep(): WakeableSleep {
  let woken = false;
  let wakeUp: (() => void) | undefined;
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    clear() {
      woken = false;
    },
    woken: () => woken,
    sleep(ms) {
      if (woken) return Promise.resolve();
      return new Promise((resolve) => {
        // setTimeout takes an Infinity (or anything past 2^31 - 1 ms) as 1 ms.
        const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      });
    },
  };
}
