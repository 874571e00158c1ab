// An export's Merkle root built on another thread: the verifier hands it each event hash (always
// 64 hex characters: parseExportLine refuses any other) and they are posted in blocks, so that
// the two hashes per event of the tree (replay/merkle.ts) run beside the verifying thread's work.
import type { Worker } from 'node:worker_threads';
import { startWorker } from './start-worker.ts';

/** Hashes per message: one string of 64-character hashes end to end (512 KiB). */
const BLOCK = 8192;

export class MerkleInWorker {
  private readonly worker: Worker = startWorker(import.meta.url, 'merkle-worker', null);
  private block: string[] = [];
  private readonly answer: Promise<string>;

  constructor() {
    this.answer = new Promise<string>((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the Merkle worker stopped (exit code ${code})`)));
    });
    // Not awaited when the verifier gives up (stop): no unhandled rejection then.
    this.answer.catch(() => {});
  }

  add(hash: string): void {
    this.block.push(hash);
    if (this.block.length >= BLOCK) this.post();
  }

  private post() {
    this.worker.postMessage(this.block.join(''));
    this.block = [];
  }

  /** The root over every hash added; the worker ends with it. */
  async root(): Promise<string> {
    if (this.block.length > 0) this.post();
    this.worker.postMessage(null);
    return this.answer;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
