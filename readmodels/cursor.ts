// Keyset pagination cursors: opaque base64url JSON of the last row's sort key.
import { QueryParameterError } from './query-parameter-error.ts';

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, length: number): unknown[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === length && key.every((part) => typeof part === 'string'))
      return key;
  } catch {}
  throw new QueryParameterError('cursor', 'is not a cursor this API returned');
}
