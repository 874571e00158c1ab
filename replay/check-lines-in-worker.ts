// Lines checked on another thread (replay/check-line.ts): blocks of whole lines are posted to
// the worker, and their answers come back in the order they were posted, so the caller can
// follow them in file order while it checks other blocks itself.
import type { CheckedLine } from './check-line.ts';
import { startWorker } from './start-worker.ts';

interface Waiting {
  resolve: (lines: CheckedLine[]) => void;
  reject: (error: unknown) => void;
}

export class LinesCheckedInWorker {
  private readonly started = startWorker<unknown>(
    import.meta.url,
    'check-lines-worker',
    null,
    'the line-checking worker',
  );
  private readonly waiting: Waiting[] = [];
  private failure: unknown = null;

  constructor() {
    const { worker, answer } = this.started;
    answer.catch(() => {});
    worker.on('message', (lines: CheckedLine[]) => this.waiting.shift()?.resolve(lines));
    const fail = (error: unknown) => {
      this.failure ??= error;
      for (const waiting of this.waiting.splice(0)) waiting.reject(this.failure);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the line-checking worker stopped (exit code ${code})`)));
  }

  /** Blocks posted whose answer has not come back yet. */
  get inFlight(): number {
    return this.waiting.length;
  }

  /** Checks the lines of `text` (joined by "\n") on the worker. */
  check(text: string): Promise<CheckedLine[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.started.worker.postMessage(text);
    });
  }

  stop(): Promise<void> {
    return this.started.stop();
  }
}
