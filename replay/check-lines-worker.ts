// The entry of the worker thread export lines are checked in (replay/check-lines-in-worker.ts):
// each message is a block of lines, answered with what replay/check-line.ts makes of each.
import { parentPort } from 'node:worker_threads';
import { checkLines } from './check-line.ts';

parentPort!.on('message', (text: string) => parentPort!.postMessage(checkLines(text)));
