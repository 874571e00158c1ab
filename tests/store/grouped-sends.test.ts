// The group commit of the executor's transitions: an item goes out at once when nothing is
// waiting for a slot; what arrives while the slots are taken goes out together; a group that
// fails is sent again item by item, so each caller gets its own answer.
import { describe, expect, it } from 'vitest';
import { groupedSends } from '../../infra/store/grouped-sends.ts';

/** A sender whose statements are held until released, recording each group it was given. */
function heldSender(refuse: (item: number) => boolean = () => false) {
  const groups: number[][] = [];
  const held: (() => void)[] = [];
  const send = (items: number[]) => {
    groups.push(items);
    return new Promise<string[]>((resolve, reject) =>
      held.push(() =>
        items.some(refuse)
          ? reject(new Error(`refused ${items.join(',')}`))
          : resolve(items.map((i) => `done ${i}`)),
      ),
    );
  };
  const releaseAll = async () => {
    while (held.length > 0) {
      for (const release of held.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { send, groups, releaseAll };
}

describe('grouped sends', () => {
  it('sends at once while a slot is free, and groups what arrives while none is', async () => {
    const sender = heldSender();
    const sendOne = groupedSends(sender.send, { inFlight: 2, maxItems: 3, patienceMs: 60_000 });
    const answers = Promise.all([1, 2, 3, 4, 5, 6, 7].map(sendOne));
    // Two out alone at once; five waiting.
    expect(sender.groups).toEqual([[1], [2]]);
    await sender.releaseAll();
    expect(await answers).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `done ${i}`));
    expect(sender.groups).toEqual([[1], [2], [3, 4, 5], [6, 7]]);
  });

  it('sends a failed group again item by item: only the refused item fails', async () => {
    const sender = heldSender((item) => item === 4);
    const sendOne = groupedSends(sender.send, { inFlight: 1, maxItems: 8, patienceMs: 60_000 });
    const answers = [1, 3, 4, 5].map((i) => sendOne(i).catch((error: Error) => error.message));
    await sender.releaseAll();
    expect(await Promise.all(answers)).toEqual(['done 1', 'done 3', 'refused 4', 'done 5']);
    expect(sender.groups).toEqual([[1], [3, 4, 5], [3], [4], [5]]);
  });

  it('stops counting a statement held up past its patience: the next goes out without it', async () => {
    const sender = heldSender();
    const sendOne = groupedSends(sender.send, { inFlight: 1, maxItems: 8, patienceMs: 30 });
    const first = sendOne(1);
    const second = sendOne(2);
    expect(sender.groups).toEqual([[1]]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    // The first is still out (a lock, say); the second did not wait for it.
    expect(sender.groups).toEqual([[1], [2]]);
    await sender.releaseAll();
    expect(await Promise.all([first, second])).toEqual(['done 1', 'done 2']);
  });

  it('lets a caller wait for nobody once the load is gone', async () => {
    const sender = heldSender();
    const sendOne = groupedSends(sender.send, { inFlight: 1, maxItems: 8, patienceMs: 60_000 });
    const first = sendOne(1);
    await sender.releaseAll();
    await first;
    const second = sendOne(2);
    expect(sender.groups).toEqual([[1], [2]]);
    await sender.releaseAll();
    expect(await second).toBe('done 2');
  });
});
