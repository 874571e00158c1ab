// The order of store checkpoints ("<transaction id>:<global position>"): the order the
// gap-free reader hands events over in, so a larger checkpoint has read further.
import { parseCheckpoint } from '../domain/store/checkpoint.ts';

/** Negative when `a` comes before `b`, 0 when they are the same point, positive after. */
export function compareCheckpoints(a: string, b: string): number {
  const [x, y] = [parseCheckpoint(a), parseCheckpoint(b)];
  const first = BigInt(x.transactionId) - BigInt(y.transactionId);
  const order = first === 0n ? BigInt(x.globalPosition) - BigInt(y.globalPosition) : first;
  return order === 0n ? 0 : order < 0n ? -1 : 1;
}
