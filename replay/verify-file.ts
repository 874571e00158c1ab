// Verifies an export file from disk: reads it in chunks (UTF-8 decoded across chunk
// boundaries), splits lines and pushes them through the pure ExportVerifier. Memory: one chunk.
// Replay verifies in a worker thread (verifyFileInWorker) while it folds the same file.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ExportVerifier, type VerifyOptions, type VerifyReport } from './verify.ts';

export interface VerifyFileProgress {
  bytes: number;
  totalBytes: number;
  lines: number;
}

export interface VerifyFileOptions extends VerifyOptions {
  onProgress?: (progress: VerifyFileProgress) => void;
}

/** Calls `onLine` for every line of the text stream (without "\n" or a trailing "\r"). */
export async function forEachLine(
  chunks: AsyncIterable<string>,
  onLine: (line: string) => void,
  onChunk?: (chunkLength: number) => void,
): Promise<void> {
  let rest = '';
  for await (const chunk of chunks) {
    let start = 0;
    let text = chunk;
    if (rest !== '') {
      text = rest + chunk;
      rest = '';
    }
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end === -1) break;
      const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      onLine(line);
      start = end + 1;
    }
    rest = text.slice(start);
    onChunk?.(chunk.length);
  }
  if (rest !== '') onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
}

export async function verifyFile(path: string, options: VerifyFileOptions = {}): Promise<VerifyReport> {
  const totalBytes = (await stat(path)).size;
  const verifier = new ExportVerifier(options);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const progress = options.onProgress;
  await forEachLine(
    stream as AsyncIterable<string>,
    (line) => verifier.line(line),
    progress ? () => progress({ bytes: stream.bytesRead, totalBytes, lines: verifier.linesRead }) : undefined,
  );
  return verifier.finish();
}

/**
 * verifyFile in a worker thread, so that a caller reading the same file (replay's fold) runs
 * beside it on another core. `stop()` ends the worker when the caller gives up first.
 */
export function verifyFileInWorker(
  path: string,
  options: VerifyOptions = {},
): { report: Promise<VerifyReport>; stop: () => Promise<void> } {
  const entry = new URL(`./verify-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  const workerData = { path, options };
  // Run from the TypeScript sources (tsx, vitest), the worker loads tsx before its entry.
  const worker = entry.pathname.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
  const report = new Promise<VerifyReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the verifying worker stopped (exit code ${code})`)));
  });
  return {
    report,
    stop: async () => {
      report.catch(() => {});
      await worker.terminate();
    },
  };
}
