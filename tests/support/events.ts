import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../domain/store/envelope.ts';

export function newEvent(type = 'Tested', data: unknown = { n: 1 }, tenantId = 'tenant-a'): NewEvent {
  return { eventId: randomUUID(), type, schemaVersion: 1, data, metadata: { tenantId, actor: 'test' } };
}

export function events(count: number, type = 'Tested', tenantId = 'tenant-a'): NewEvent[] {
  return Array.from({ length: count }, (_, n) => newEvent(type, { n }, tenantId));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock that starts at a fixed instant and moves 1 ms per reading. */
export function steppingClock(start = '2026-01-01T00:00:00.000Z'): () => Date {
  let t = Date.parse(start);
  return () => new Date(t++);
}

/** Polls `done` until it holds, or fails naming `what` after `timeoutMs`. */
export async function until(what: string, done: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}
