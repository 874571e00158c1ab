// An export's Merkle root built on another thread: the verifier hands it each event hash (always
// 64 hex characters: parseExportLine refuses any other) and they are posted in blocks, so that
// the two hashes per event of the tree (replay/merkle.ts) run beside the verifying thread's work.
import { startWorker } from './start-worker.ts';

/** Hashes per message: one string of 64-character hashes end to end (512 KiB). */
const BLOCK = 8192;

export class MerkleInWorker {
  private readonly started = startWorker<string>(import.meta.url, 'merkle-worker', null, 'the Merkle worker');
  private block: string[] = [];

  constructor() {
    // Not awaited when the verifier gives up (stop): no unhandled rejection then.
    this.started.answer.catch(() => {});
  }

  add(hash: string): void {
    this.block.push(hash);
    if (this.block.length >= BLOCK) this.post();
  }

  private post() {
    this.started.worker.postMessage(this.block.join(''));
    this.block = [];
  }

  /** The root over every hash added; the worker ends with it. */
  async root(): Promise<string> {
    if (this.block.length > 0) this.post();
    this.started.worker.postMessage(null);
    return this.started.answer;
  }

  stop(): Promise<void> {
    return this.started.stop();
  }
}
