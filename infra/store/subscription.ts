// A subscription is a loop over readAll: read a batch, hand it over, move the checkpoint;
// when caught up, sleep until woken (LISTEN/NOTIFY, in-process signal) or the poll period ends.
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

  const loop = (async () => {
    while (running) {
      woken = false;
      try {
        const batch = await readAll({
          after: checkpoint,
          limit: options.batchSize ?? DEFAULT_BATCH,
          filter: options.filter,
        });
        if (batch.events.length > 0) {
          checkpoint = (await handler(batch.events, batch.checkpoint)) || batch.checkpoint;
          continue;
        }
      } catch (error) {
        options.onError?.(error);
      }
      await sleep(pollMs);
    }
  })();

  return {
    async stop() {
      running = false;
      wake();
      await loop;
      await (await unlisten)();
    },
  };
}
