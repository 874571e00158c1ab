// The entry of the worker thread replay verifies an export in (replay/verify-file.ts,
// verifyFileInWorker): verifies the file its parent names, as `aos verify` does, and posts
// the report back. On this thread alone: the parent folds the same file on the other core.
import { parentPort, workerData } from 'node:worker_threads';
import type { VerifyOptions } from './verify.ts';
import { verifyFile } from './verify-file.ts';

const { path, options } = workerData as { path: string; options: VerifyOptions };
parentPort!.postMessage(await verifyFile(path, { ...options, workerFromBytes: Number.POSITIVE_INFINITY }));
