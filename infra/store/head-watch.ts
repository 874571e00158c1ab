// The one fallback look shared by every subscription of a store. Subscriptions are woken by
// notifications (an append's NOTIFY, or this process's direct wake-up); what no notification
// announces — one lost between processes, events made readable by the end of a long
// transaction that held the gap-free reader back — is caught by this look at the newest
// readable event: one query per period for all of them, instead of a read per subscription
// per period, and a wake-up only when that event changed. The period is the shortest
// `pollIntervalMs` among the subscriptions watching.

export interface HeadWatch {
  /** Wakes `wake` whenever the readable head has moved; returns the unwatch function. */
  watch(periodMs: number, wake: () => void): () => void;
}

/** `readHead` answers an opaque token of the newest readable event (null: none). */
export function headWatch(readHead: () => Promise<string | null>): HeadWatch {
  const watchers = new Set<{ periodMs: number; wake: () => void }>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let looking = false;
  /** Undefined until the first look, which therefore wakes everyone once. */
  let last: string | null | undefined;

  const schedule = () => {
    clearTimeout(timer);
    timer = undefined;
    if (looking || watchers.size === 0) return;
    timer = setTimeout(look, Math.min(...[...watchers].map((w) => w.periodMs)));
    timer.unref();
  };
  async function look() {
    looking = true;
    try {
      const head = await readHead();
      if (head !== last) {
        last = head;
        for (const watcher of watchers) watcher.wake();
      }
    } catch {
      // The subscriptions report the store's errors when they read.
    } finally {
      looking = false;
      schedule();
    }
  }

  return {
    watch(periodMs, wake) {
      const watcher = { periodMs, wake };
      watchers.add(watcher);
      schedule();
      return () => {
        watchers.delete(watcher);
        schedule();
      };
    },
  };
}
