// The SQL stores' checkpoint: the (transaction id, global position) of the last event read.
import { type Checkpoint, START } from './event-store.ts';
import { InvalidInputError } from './store-errors.ts';

const CHECKPOINT = /^(\d{1,20}):(\d{1,20})$/;

export function parseCheckpoint(checkpoint: Checkpoint = START): {
  transactionId: string;
  globalPosition: string;
} {
  const match = CHECKPOINT.exec(checkpoint);
  if (!match) throw new InvalidInputError('after', `not a checkpoint: ${JSON.stringify(checkpoint)}`);
  return { transactionId: match[1]!, globalPosition: match[2]! };
}

export function formatCheckpoint(transactionId: string, globalPosition: string): Checkpoint {
  return `${transactionId}:${globalPosition}`;
}
