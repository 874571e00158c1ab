// Verifies an export file from disk: reads it in chunks, cuts them into lines
// (replay/text-lines.ts) and pushes them through the pure ExportVerifier. Memory: a few chunks.
// A large file is verified on two threads: blocks of lines are checked (parsed and hashed,
// replay/check-line.ts) here and on a worker, whichever is free, and followed in file order
// here (chains, counts, the Merkle tree). Replay verifies in a worker thread
// (verifyFileInWorker) while it folds the same file.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type CheckedLine, checkLines } from './check-line.ts';
import { LinesCheckedInWorker } from './check-lines-in-worker.ts';
import { startWorker } from './start-worker.ts';
import { forEachLine, forEachLineBlock } from './text-lines.ts';
import { ExportVerifier, type VerifyOptions, type VerifyReport } from './verify.ts';

export interface VerifyFileProgress {
  bytes: number;
  totalBytes: number;
  lines: number;
}

export interface VerifyFileOptions extends VerifyOptions {
  onProgress?: (progress: VerifyFileProgress) => void;
  /**
   * From this size on, lines are also checked on a worker thread
   * (replay/check-lines-in-worker.ts): worth the thread's start for a large file only.
   * Default 4 MiB.
   */
  workerFromBytes?: number;
}

const WORKER_FROM_BYTES = 4 << 20;
/**
 * Blocks the worker holds at most, and blocks checked ahead of the one followed here. Measured
 * on 2 cores (200k events): 3 and 4 gave 0.87-0.94 of the one-thread anchor; 2 gave 0.87,
 * every block to the worker 0.70 (this thread then waits), and a third thread for the Merkle
 * tree 0.80 (three threads on two cores).
 */
const WORKER_HOLDS = 3;
const AHEAD = 4;

/** Checks blocks of lines here and on the worker, whichever is free; follows them in order. */
async function checkOnTwoThreads(
  chunks: AsyncIterable<string>,
  verifier: ExportVerifier,
  worker: LinesCheckedInWorker,
  onChunk?: (chunkLength: number) => void,
) {
  const follow = (lines: CheckedLine[]) => {
    for (const line of lines) verifier.checked(line);
  };
  const ahead: (CheckedLine[] | Promise<CheckedLine[]>)[] = [];
  await forEachLineBlock(
    chunks,
    async (text) => {
      // The worker's answers arrive only while this thread waits, so it holds a few at most
      // and this thread checks the rest itself.
      ahead.push(worker.inFlight < WORKER_HOLDS ? worker.check(text) : checkLines(text));
      while (ahead.length > 0 && (Array.isArray(ahead[0]) || ahead.length > AHEAD)) {
        follow(await ahead.shift()!);
      }
    },
    onChunk,
  );
  for (const lines of ahead) follow(await lines);
}

export async function verifyFile(path: string, options: VerifyFileOptions = {}): Promise<VerifyReport> {
  const totalBytes = (await stat(path)).size;
  const checker =
    totalBytes >= (options.workerFromBytes ?? WORKER_FROM_BYTES) ? new LinesCheckedInWorker() : undefined;
  const verifier = new ExportVerifier(options);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const progress = options.onProgress;
  const chunks = stream as AsyncIterable<string>;
  const onChunk = progress
    ? () => progress({ bytes: stream.bytesRead, totalBytes, lines: verifier.linesRead })
    : undefined;
  try {
    if (checker) await checkOnTwoThreads(chunks, verifier, checker, onChunk);
    else await forEachLine(chunks, (line) => verifier.line(line), onChunk);
    return verifier.finish();
  } finally {
    await checker?.stop();
  }
}

/**
 * verifyFile in a worker thread, so that a caller reading the same file (replay's fold) runs
 * beside it on another core. `stop()` ends the worker when the caller gives up first.
 */
export function verifyFileInWorker(
  path: string,
  options: VerifyOptions = {},
): { report: Promise<VerifyReport>; stop: () => Promise<void> } {
  const started = startWorker<VerifyReport>(
    import.meta.url,
    'verify-worker',
    { path, options },
    'the verifying worker',
  );
  return { report: started.answer, stop: started.stop };
}
