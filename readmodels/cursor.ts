// Keyset pagination cursors: opaque base64url JSON of the last row's sort key. A cursor is
// checked part by part against the key's shape before it reaches SQL: one of the right
// length with the wrong contents (a date that is none, a position past bigint) is a 400
// naming the cursor, not a database error.
import { z } from 'zod';
import { instant } from '../contracts/common.ts';
import { QueryParameterError } from './query-parameter-error.ts';

/** A global position as text: digits that fit PostgreSQL's bigint. */
const position = z
  .string()
  .refine((value) => /^\d{1,19}$/.test(value) && BigInt(value) <= 9_223_372_036_854_775_807n);

export const cursorKeys = {
  /** GET /v1/runs: created_at, run_id. */
  run: z.tuple([instant, z.uuid()]),
  /** GET /v1/status-history: global_position, id. */
  statusHistory: z.tuple([position, z.uuid()]),
  /** GET /v1/policy-decisions: global_position. */
  position: z.tuple([position]),
};

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends z.ZodTuple>(
  cursor: string | undefined,
  key: K,
): z.output<K> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {}
  const decoded = key.safeParse(parsed);
  if (decoded.success) return decoded.data;
  throw new QueryParameterError('cursor', 'is not a cursor this API returned');
}
