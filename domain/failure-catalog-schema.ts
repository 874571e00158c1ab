// The failure catalog's shape (domain/failure-catalog.ts says what it is for): recovery modes,
// entries, the catalog. No hashing here, so that route contracts can use it.
import { z } from 'zod';
import { errorCategories, errorCodeNames } from './errors.ts';

export const recoveryModes = [
  'retry_later',
  'fallback_model',
  'reduce_tokens',
  'fallback_skill',
  'ask_human',
  'abort',
] as const;
export type RecoveryMode = (typeof recoveryModes)[number];

export const recoverySchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('retry_later'), params: z.strictObject({}).default({}) }),
  z.strictObject({
    mode: z.literal('fallback_model'),
    params: z.strictObject({ model: z.string().min(1).max(200) }),
  }),
  z.strictObject({
    mode: z.literal('reduce_tokens'),
    /** The next attempt's maxTokens: this fraction of the last one's, rounded down (at least 1). */
    params: z.strictObject({ factor: z.number().gt(0).lt(1) }),
  }),
  z.strictObject({
    mode: z.literal('fallback_skill'),
    params: z.strictObject({ skill: z.string().min(1).max(200) }),
  }),
  z.strictObject({ mode: z.literal('ask_human'), params: z.strictObject({}).default({}) }),
  z.strictObject({ mode: z.literal('abort'), params: z.strictObject({}).default({}) }),
]);
export type Recovery = z.infer<typeof recoverySchema>;

/** A pattern that compiles, short enough that matching it stays cheap. */
const messagePatternSchema = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (pattern) => {
      try {
        new RegExp(pattern, 'i');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

export const catalogEntrySchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only'),
    match: z.strictObject({
      errorCode: z.enum(errorCodeNames),
      skill: z.string().min(1).max(200).optional(),
      httpStatus: z.int().min(100).max(599).optional(),
      /** A regular expression, matched case-insensitively against the failure's message. */
      messagePattern: messagePatternSchema.optional(),
    }),
    category: z.enum(errorCategories),
    /** Whether the step is retried as it is (under its retry policy). */
    retry: z.boolean(),
    recovery: recoverySchema,
    confidence: z.number().min(0).max(1),
    automatic: z.boolean().default(false),
    description: z.string().max(500).optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.recovery.mode === 'retry_later' && !entry.retry) {
      ctx.addIssue({ code: 'custom', path: ['retry'], message: 'retry_later retries: retry must be true' });
    }
    if (entry.recovery.mode === 'abort' && entry.retry) {
      ctx.addIssue({ code: 'custom', path: ['retry'], message: 'abort does not retry: retry must be false' });
    }
  });
export type CatalogEntry = z.output<typeof catalogEntrySchema>;

export const catalogEntriesSchema = z
  .array(catalogEntrySchema)
  .min(1)
  .max(1000)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      if (seen.has(entry.id)) {
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `id ${entry.id} is used twice` });
      }
      seen.add(entry.id);
    });
  });

export const failureCatalogSchema = z.strictObject({
  version: z.string().min(1).max(200),
  entries: catalogEntriesSchema,
});
export type FailureCatalog = z.output<typeof failureCatalogSchema>;
export type FailureCatalogInput = z.input<typeof failureCatalogSchema>;

export interface HashedFailureCatalog extends FailureCatalog {
  hash: string;
}
