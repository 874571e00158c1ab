// Remembers the last known head (version, hash) of recently used streams, so an append
// can compute its hash chain before its one round trip. A stale entry costs one retry.
import type { StreamHead } from '../../domain/store/chain-events.ts';

export class StreamHeadCache {
  private readonly heads = new Map<string, StreamHead>();
  constructor(private readonly capacity = 10_000) {}

  get(streamId: string): StreamHead | undefined {
    return this.heads.get(streamId);
  }

  set(streamId: string, head: StreamHead): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > this.capacity) {
      const oldest = this.heads.keys().next().value as string;
      this.heads.delete(oldest);
    }
  }
}
