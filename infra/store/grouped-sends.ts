// A group commit for statements that many callers send at once (the executor's step
// transitions, autocommitted appends): at most `inFlight` are out at a time, and what arrives
// meanwhile waits and goes out together in the next one, up to `maxItems`. An idle caller waits
// for nobody: its item goes out at once. Under load a statement and its commit carry many items
// instead of one, which is what saves the database's and node's time (bench/RESULTS.md, stops
// 28 and 29).
//
// A statement that fails undoes its whole group; each of its items is then sent again on its
// own, so an item's refusal (or an outage) reaches its own caller only, as if never grouped.

export interface GroupOptions {
  /** Statements out at once. */
  inFlight: number;
  /** Items in one statement at most. */
  maxItems: number;
  /**
   * A statement out for longer stops counting (held up by a lock, say): the next group goes out
   * without it, so one slow statement never holds the others back for longer than this.
   */
  patienceMs: number;
}

/**
 * Two statements out at once: on 2 cores a third only queues in the database, while what waits
 * here goes out together (bench/RESULTS.md, stop 29: 2 × 16 to 2 × 32 best; 3 no better, 1 and
 * 64 worse). One held up past 50 ms (a lock) stops counting.
 */
export const DEFAULT_GROUPS: GroupOptions = { inFlight: 2, maxItems: 32, patienceMs: 50 };

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * `send(items)` answers one result per item, in order. Answers a function that sends one item,
 * grouped with whatever else is waiting.
 */
export function groupedSends<I, R>(send: (items: I[]) => Promise<R[]>, options: GroupOptions) {
  const waiting: Waiting<I, R>[] = [];
  let out = 0;

  async function sendGroup(group: Waiting<I, R>[]) {
    try {
      const results = await send(group.map((w) => w.item));
      for (const [i, w] of group.entries()) w.resolve(results[i]!);
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      await Promise.all(
        group.map((w) =>
          send([w.item]).then(
            ([result]) => w.resolve(result!),
            (alone) => w.reject(alone),
          ),
        ),
      );
    }
  }

  function next() {
    while (out < options.inFlight && waiting.length > 0) {
      out++;
      let counted = true;
      const uncount = () => {
        if (!counted) return;
        counted = false;
        out--;
        next();
      };
      const patience = setTimeout(uncount, options.patienceMs);
      patience.unref();
      void sendGroup(waiting.splice(0, options.maxItems)).finally(() => {
        clearTimeout(patience);
        uncount();
      });
    }
  }

  return (item: I): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      next();
    });
}
