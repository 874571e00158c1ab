// Every event the store holds, and how many: a request that must not write leaves the count unchanged.
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { EventStore } from '../../domain/store/event-store.ts';

export async function readAllEvents(store: Pick<EventStore, 'readAll'>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll({ limit: 10_000, ...(after ? { after } : {}) });
    events.push(...page.events);
    if (page.events.length < 10_000) return events;
    after = page.checkpoint;
  }
}

export async function countEvents(store: Pick<EventStore, 'readAll'>): Promise<number> {
  return (await readAllEvents(store)).length;
}
