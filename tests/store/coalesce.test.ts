// The coalesced fire-and-forget signal that wakes subscribers after appends.
import { describe, expect, it } from 'vitest';
import { coalesce } from '../../infra/store/coalesce.ts';
import { sleep } from '../support/events.ts';

function recorder(sendMs = 0, fail = false) {
  const starts: number[] = [];
  const send = async () => {
    starts.push(performance.now());
    if (sendMs) await sleep(sendMs);
    if (fail) throw new Error('unreachable');
  };
  return { starts, send };
}

describe('coalesce', () => {
  it('sends the first trigger at once and merges a burst into one more send', async () => {
    const { starts, send } = recorder();
    const signal = coalesce(send, 5);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) signal.trigger();
    expect(starts).toHaveLength(1);
    expect(starts[0]! - t0).toBeLessThan(20);
    await sleep(50);
    expect(starts).toHaveLength(2);
    signal.close();
  });

  it('follows every trigger with a send that starts after it, sends at least the interval apart', async () => {
    const { starts, send } = recorder(3);
    const signal = coalesce(send, 5);
    const triggers: number[] = [];
    for (let i = 0; i < 40; i++) {
      triggers.push(performance.now());
      signal.trigger();
      await sleep(1);
    }
    await sleep(50);
    for (const at of triggers) expect(starts.some((s) => s >= at)).toBe(true);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(6);
    expect(starts.length).toBeLessThan(triggers.length);
    signal.close();
  });

  it('ignores failed sends, and sends nothing after close', async () => {
    const { starts, send } = recorder(0, true);
    const signal = coalesce(send, 5);
    signal.trigger();
    signal.trigger();
    await sleep(30);
    expect(starts).toHaveLength(2);
    signal.trigger();
    signal.close();
    signal.trigger();
    await sleep(30);
    expect(starts).toHaveLength(3);
  });
});
