// Field schemas shared by the event catalog.
import { z } from 'zod';
import { errorCategories, errorCodeNames } from '../errors.ts';

export const idSchema = z.string().min(1).max(256);
export const runIdSchema = idSchema;
export const stepIndexSchema = z.int().nonnegative();
/** Attempts are 1-based. */
export const attemptSchema = z.int().positive();
/** Recorded instants are UTC with a Z, as Date#toISOString writes them. */
export const atSchema = z.iso.datetime();
export const durationMsSchema = z.int().nonnegative();
export const errorCodeSchema = z.enum(errorCodeNames);
export const errorCategorySchema = z.enum(errorCategories);
export const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest');
export const tokenCountSchema = z.int().nonnegative();

export const tokenUsageSchema = z.strictObject({
  model: z.string().min(1),
  inputTokens: tokenCountSchema,
  outputTokens: tokenCountSchema,
  cachedInputTokens: tokenCountSchema,
});
