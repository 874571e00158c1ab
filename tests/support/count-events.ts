// How many events the store holds: a request that must not write leaves it unchanged.
import type { EventStore } from '../../domain/store/event-store.ts';

export async function countEvents(store: Pick<EventStore, 'readAll'>): Promise<number> {
  let count = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll({ limit: 10_000, ...(after ? { after } : {}) });
    count += page.events.length;
    if (page.events.length < 10_000) return count;
    after = page.checkpoint;
  }
}
