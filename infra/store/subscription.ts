// A subscription is a loop over readAll: read a batch, hand it over, move the checkpoint;
// when caught up, sleep until woken (LISTEN/NOTIFY, in-process signal) or the poll period ends.
// A wake-up whose events are not readable yet (the gap-free reader waits for an older
// transaction still open) is read again soon, then less and less often up to the poll period:
// a busy reader sees events within milliseconds. With `gatherMs`, a busy one reads at most that
// often, in batches of what arrived meanwhile. Given a store's shared head watch, an idle
// reader sends nothing: it sleeps until woken, and the watch's one look per period at the
// newest readable event stands in for every reader's own poll (head-watch.ts); without one,
// it costs a read per period.

import { wakeableSleep } from '../../commands/wakeable-sleep.ts';
import type {
  Checkpoint,
  ReadAllOptions,
  ReadAllResult,
  SubscribeOptions,
  Subscription,
  SubscriptionHandler,
} from '../../domain/store/event-store.ts';
import type { HeadWatch } from './head-watch.ts';

type WakeSource = (wake: () => void) => Promise<() => Promise<void>>;

const DEFAULT_POLL_MS = 500;
const DEFAULT_BATCH = 500;
/** The first look again after a wake-up found nothing; it doubles up to the poll period. */
const FIRST_RETRY_MS = 10;

export function pollingSubscription(
  readAll: (options: ReadAllOptions) => Promise<ReadAllResult>,
  wakeSource: WakeSource,
  handler: SubscriptionHandler,
  options: SubscribeOptions,
  headWatch?: HeadWatch,
): Subscription {
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  let checkpoint: Checkpoint | undefined = options.after;
  let running = true;
  const alarm = wakeableSleep();
  /** A notification came: what it announces may not be readable yet, so an empty read is retried soon. */
  let announced = false;
  const wake = () => {
    announced = true;
    alarm.wake();
  };
  // The head watch's wake-up is a look, not an announcement: it is not retried.
  const unwatch = headWatch?.watch(pollMs, alarm.wake);

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
    /**
     * A batch was just handed over: a wake-up that came meanwhile is kept, so that if what it
     * announced is not readable yet (an older transaction still open), it is looked at again soon.
     */
    let handled = false;
    while (running) {
      if (!handled) {
        alarm.clear();
        announced = false;
      }
      handled = false;
      let failed = false;
      try {
        const batch = await readAll({
          after: checkpoint,
          limit,
          filter: options.filter,
        });
        if (batch.events.length > 0) {
          checkpoint = (await handler(batch.events, batch.checkpoint)) || batch.checkpoint;
          // Read again at once; if that finds nothing, it is caught up: what comes next is
          // announced (only a wake-up that finds nothing readable is looked at again soon).
          retryMs = pollMs;
          if (batch.events.length < limit) await gather();
          handled = true;
          continue;
        }
      } catch (error) {
        failed = true;
        options.onError?.(error);
      }
      // Caught up, and done looking again after a wake-up: the head watch wakes it from here.
      const idle = headWatch !== undefined && !failed && retryMs >= pollMs;
      await alarm.sleep(idle ? Number.POSITIVE_INFINITY : Math.min(retryMs, pollMs));
      retryMs = announced ? FIRST_RETRY_MS : Math.min(retryMs * 2, pollMs);
    }
  })();

  return {
    async stop() {
      running = false;
      wake();
      stopped();
      unwatch?.();
      await loop;
      await (await unlisten)();
    },
  };
}
