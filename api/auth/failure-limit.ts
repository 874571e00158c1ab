// Failed authentications per client address, in one-minute windows: each presented key costs
// a database lookup, so an address that keeps presenting wrong keys is refused (429) before
// the lookup once it has failed `perMinute` times. Counters live in the process, like the
// request rate limit; the map is emptied of past windows as it is used, so it stays small.

export interface FailureLimit {
  /** Seconds until the address may try again; 0 when it may now. */
  retryAfterSeconds(address: string): number;
  recordFailure(address: string): void;
}

const WINDOW_MS = 60_000;

export function failureLimit(perMinute: number, now: () => number = Date.now): FailureLimit {
  const windows = new Map<string, { start: number; failures: number }>();
  let lastSweep = now();
  const current = (address: string) => {
    const at = now();
    if (at - lastSweep >= WINDOW_MS) {
      for (const [key, window] of windows) if (at - window.start >= WINDOW_MS) windows.delete(key);
      lastSweep = at;
    }
    const window = windows.get(address);
    return window && at - window.start < WINDOW_MS ? window : undefined;
  };
  return {
    retryAfterSeconds(address) {
      const window = current(address);
      if (!window || window.failures < perMinute) return 0;
      return Math.max(1, Math.ceil((window.start + WINDOW_MS - now()) / 1000));
    },
    recordFailure(address) {
      const window = current(address);
      if (window) window.failures++;
      else windows.set(address, { start: now(), failures: 1 });
    },
  };
}
