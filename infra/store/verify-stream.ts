// Reads a stream from the store page by page and checks its hash chain.
import type { EventStore } from '../../domain/store/event-store.ts';
import { type ChainVerdict, GENESIS_HASH, verifyChain } from '../../domain/store/hash-chain.ts';

const PAGE = 1000;

export async function verifyStream(store: EventStore, streamId: string): Promise<ChainVerdict> {
  let from = 0;
  let headHash = GENESIS_HASH;
  for (;;) {
    const page = await store.readStream(streamId, { from, limit: PAGE });
    // Continue the chain across pages by prefixing the last verified event's hash.
    const verdict = verifyChain(page, { startPosition: from, prevHash: headHash });
    if (!verdict.ok) return verdict;
    headHash = verdict.headHash;
    from += page.length;
    if (page.length < PAGE) return { ok: true, count: from, headHash };
  }
}
