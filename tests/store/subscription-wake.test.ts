// A subscription keeps a wake-up that came while it handed a batch over. What that notification
// announced may not be readable at the next read (the gap-free reader waits for an older
// transaction still open): it is looked at again soon, not at the next notification or the
// head watch's period.
import { expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { ReadAllResult } from '../../domain/store/event-store.ts';
import { pollingSubscription } from '../../infra/store/subscription.ts';

const event = (n: number): RecordedEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  streamId: 's',
  streamPosition: n,
  globalPosition: String(n),
  type: 'Noted',
  schemaVersion: 1,
  data: {},
  metadata: { tenantId: 't' },
  recordedAt: '2026-01-01T00:00:00.000Z',
  prevHash: '0'.repeat(64),
  hash: '0'.repeat(64),
});

it('looks again soon after a wake-up that came while a batch was handled, though the next read is empty', async () => {
  // Reads answer: the first event; then nothing (the second is announced but not readable yet);
  // from then on the second event.
  const pages: RecordedEvent[][] = [[event(1)], []];
  let reads = 0;
  const readAll = async (): Promise<ReadAllResult> => {
    const events = pages[reads++] ?? [event(2)];
    return { events, checkpoint: `0:${events.at(-1)?.globalPosition ?? 0}` };
  };
  let notify = () => {};
  const handled: string[] = [];
  const second = new Promise<void>((resolve) => {
    const subscription = pollingSubscription(
      readAll,
      async (wake) => {
        notify = wake;
        return async () => {};
      },
      async (events) => {
        // The second event's notification arrives while the first is being handed over.
        if (events[0]!.globalPosition === '1') notify();
        handled.push(...events.map((e) => e.globalPosition));
        if (handled.includes('2')) void subscription.stop().then(resolve);
      },
      { pollIntervalMs: 60_000 },
      // A head watch that never looks: only wake-ups and the subscription's own retries read.
      { watch: () => () => {} },
    );
  });
  const started = Date.now();
  await second;
  expect(handled.slice(0, 2)).toEqual(['1', '2']);
  expect(Date.now() - started).toBeLessThan(5_000);
});
