// Shapes several routes share: instants, pages, cursors, limits.
import { z } from 'zod';

/** The first instant PostgreSQL's timestamptz input reads: year 0000 and before are refused. */
export const EARLIEST_MS = Date.parse('0001-01-01T00:00:00Z');
const fromYearOne = (value: string) => Date.parse(value) >= EARLIEST_MS;

export const instant = z.iso
  .datetime({ offset: true })
  .refine(fromYearOne, 'must be on or after 0001-01-01T00:00:00Z');
export const day = z.iso.date().refine(fromYearOne, 'must be on or after 0001-01-01');

export const limit = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);
export const cursor = z.string().max(512).describe('opaque keyset cursor: a page’s next_cursor');
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .describe('the same key with the same body answers the first result; with another body, 409');
/** Header names are lower case by the time fastify validates them. */
export const idempotencyHeaders = z.object({ 'idempotency-key': idempotencyKey.optional() });

export const noBody = z.strictObject({}).nullish().describe('no body, or an empty JSON object');
