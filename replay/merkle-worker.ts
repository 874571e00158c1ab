// The entry of the worker thread an export's Merkle root is built in (replay/merkle-in-worker.ts):
// blocks of event hashes in file order, each a string of 64-character hashes end to end, then
// `null` for the root.
import { parentPort } from 'node:worker_threads';
import { MerkleBuilder } from './merkle.ts';

const builder = new MerkleBuilder();
parentPort!.on('message', (block: string | null) => {
  if (block === null) {
    parentPort!.postMessage(builder.root());
    parentPort!.close();
    return;
  }
  for (let at = 0; at < block.length; at += 64) builder.add(block.slice(at, at + 64));
});
