// Fire-and-forget signals, coalesced: the first trigger sends at once; triggers made while a
// send is in flight, or less than `intervalMs` after it ended, become one more send at the end
// of that interval. So every trigger is followed by a send that starts after it, and sends
// are at least `intervalMs` apart. Errors are ignored: the receivers have a fallback (polling).

export interface Coalesced {
  trigger(): void;
  /** Drops a pending send; later triggers do nothing. */
  close(): void;
}

export function coalesce(send: () => Promise<unknown>, intervalMs = 5): Coalesced {
  let busy = false;
  let pending = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fire = () => {
    busy = true;
    pending = false;
    send()
      .catch(() => {})
      .finally(() => {
        if (closed) return;
        timer = setTimeout(() => {
          timer = undefined;
          if (pending && !closed) fire();
          else busy = false;
        }, intervalMs);
        timer.unref();
      });
  };

  return {
    trigger() {
      if (closed) return;
      if (busy) pending = true;
      else fire();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** One coalesced sender per channel. */
export function coalescePerChannel(send: (channel: string) => Promise<unknown>, intervalMs?: number) {
  const channels = new Map<string, Coalesced>();
  return {
    trigger(channel: string) {
      let coalesced = channels.get(channel);
      if (!coalesced) {
        coalesced = coalesce(() => send(channel), intervalMs);
        channels.set(channel, coalesced);
      }
      coalesced.trigger();
    },
    close() {
      for (const coalesced of channels.values()) coalesced.close();
    },
  };
}
