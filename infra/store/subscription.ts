// A subscription is a loop over readAll: read a batch, hand it over, move the checkpoint;
// when caught up, sleep until woken (LISTEN/NOTIFY, in-process signal) or the poll period ends.
// A wake-up whose events are not readable yet (the gap-free reader waits for an older
// transaction still open) is read again soon, then less and less often up to the poll period:
// an idle reader costs one read per period, a busy one sees events within milliseconds.
// With `gatherMs`, a busy one reads at most that often, in batches of what arrived meanwhile.
import type {
  Checkpoint,
  ReadAllOptions,
  ReadAllResult,
  SubscribeOptions,
  Subscription,
  SubscriptionHandler,
} from '../../domain/store/event-store.ts';

type WakeSource = (wake: () => void) => Promise<() => Promise<void>>;

const DEFAULT_POLL_MS = 500;
const DEFAULT_BATCH = 500;
/** The first look again after a wake-up or a batch found nothing; it doubles up to the poll period. */
const FIRST_RETRY_MS = 10;

export function pollingSubscription(
  readAll: (options: ReadAllOptions) => Promise<ReadAllResult>,
  wakeSource: WakeSource,
  handler: SubscriptionHandler,
  options: SubscribeOptions,
): Subscription {
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  let checkpoint: Checkpoint | undefined = options.after;
  let running = true;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || !running) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const unlisten = wakeSource(wake).catch((error) => {
    options.onError?.(error);
    return async () => {};
  });

  const limit = options.batchSize ?? DEFAULT_BATCH;
  /** Lets what arrives meanwhile gather into the next batch; only stopping cuts it short. */
  let stopped: () => void = () => {};
  const gather = () =>
    new Promise<void>((resolve) => {
      if (!options.gatherMs || !running) return resolve();
      const timer = setTimeout(resolve, options.gatherMs);
      stopped = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let retryMs = pollMs;
    while (running) {
      woken = false;
      try {
        const batch = await readAll({
          after: checkpoint,
          limit,
          filter: options.filter,
        });
        if (batch.events.length > 0) {
          checkpoint = (await handler(batch.events, batch.checkpoint)) || batch.checkpoint;
          retryMs = FIRST_RETRY_MS;
          if (batch.events.length < limit) await gather();
          continue;
        }
      } catch (error) {
        options.onError?.(error);
      }
      await sleep(Math.min(retryMs, pollMs));
      retryMs = woken ? FIRST_RETRY_MS : Math.min(retryMs * 2, pollMs);
    }
  })();

  return {
    async stop() {
      running = false;
      wake();
      stopped();
      await loop;
      await (await unlisten)();
    },
  };
}
