// Starts a worker thread on a module next to its caller: the built `.js` as it is, or, run from
// the TypeScript sources (tsx, vitest), the `.ts` through tsx, which the worker loads first.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** `name`: the module's file name without extension, in the directory of `from` (import.meta.url). */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  const entry = new URL(`./${name}${extname(fileURLToPath(from))}`, from);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Worker(
    `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
    { eval: true, workerData },
  );
}
