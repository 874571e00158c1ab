// Starts a worker thread on a module next to its caller: the built `.js` as it is, or, run from
// the TypeScript sources (tsx, vitest), the `.ts` through tsx, which the worker loads first.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface StartedWorker<Answer> {
  worker: Worker;
  /** The worker's first message; rejected when it fails or ends before sending one. */
  answer: Promise<Answer>;
  /** Ends the worker: its caller gives up first (the answer is then not awaited). */
  stop(): Promise<void>;
}

/**
 * `name`: the module's file name without extension, in the directory of `from` (import.meta.url);
 * `what`: the worker as an error names it.
 */
export function startWorker<Answer>(
  from: string,
  name: string,
  workerData: unknown,
  what: string,
): StartedWorker<Answer> {
  const entry = new URL(`./${name}${extname(fileURLToPath(from))}`, from);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = entry.pathname.endsWith('.ts')
    ? new Worker(
        `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
  const answer = new Promise<Answer>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${what} stopped (exit code ${code})`)));
  });
  return {
    worker,
    answer,
    stop: async () => {
      answer.catch(() => {});
      await worker.terminate();
    },
  };
}
