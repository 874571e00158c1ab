// Verifies an export file from disk: reads it in chunks (UTF-8 decoded across chunk
// boundaries), splits lines and pushes them through the pure ExportVerifier. Memory: one chunk.
// Replay verifies in a worker thread (verifyFileInWorker) while it folds the same file.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MerkleInWorker } from './merkle-in-worker.ts';
import { startWorker } from './start-worker.ts';
import { ExportVerifier, type VerifyOptions, type VerifyReport } from './verify.ts';

export interface VerifyFileProgress {
  bytes: number;
  totalBytes: number;
  lines: number;
}

export interface VerifyFileOptions extends VerifyOptions {
  onProgress?: (progress: VerifyFileProgress) => void;
  /**
   * From this size on, the Merkle tree is built on another thread (replay/merkle-in-worker.ts):
   * about a seventh of the work, worth a thread's start for a large file only. Default 4 MiB.
   */
  merkleThreadFromBytes?: number;
}

const MERKLE_THREAD_FROM_BYTES = 4 << 20;

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
  const merkle =
    totalBytes >= (options.merkleThreadFromBytes ?? MERKLE_THREAD_FROM_BYTES)
      ? new MerkleInWorker()
      : undefined;
  const verifier = new ExportVerifier(options, merkle);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const progress = options.onProgress;
  try {
    await forEachLine(
      stream as AsyncIterable<string>,
      (line) => verifier.line(line),
      progress
        ? () => progress({ bytes: stream.bytesRead, totalBytes, lines: verifier.linesRead })
        : undefined,
    );
    return await verifier.finish();
  } finally {
    await merkle?.stop();
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
