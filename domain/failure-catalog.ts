// The failure catalog: reference data (stream `failure-catalog`, FailureCatalogAdopted) that says
// what a failed attempt means and what to do about it. Each entry matches on an error code and,
// optionally, the skill, the HTTP status and a message pattern; it gives the failure's category,
// whether the step is retried as it is, a recovery mode with its parameters, a confidence and
// whether the recovery is applied without a person (`automatic`). Entries are tried in order:
// the first that matches classifies the failure, so put the specific ones first.
//
// `retry_later` and `abort` are dispositions (retry under the step's policy / fail the step);
// the other four modes are recoveries, suggested on the run (RecoverySuggested) for an operator
// to accept or reject, or applied at once when the entry is automatic.
import { z } from 'zod';
import { type ErrorCategory, type ErrorCode, errorCategories, errorCodeNames, errorCodes } from './errors.ts';
import { canonicalHash } from './hashing.ts';

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

/** sha256 of the canonical JSON of the entries; the version label is not hashed. */
export function failureCatalogHash(catalog: Pick<FailureCatalog, 'entries'>): string {
  return canonicalHash(catalog.entries);
}

export function withFailureCatalogHash(catalog: FailureCatalog): HashedFailureCatalog {
  return { version: catalog.version, hash: failureCatalogHash(catalog), entries: catalog.entries };
}

/** A failed attempt as the catalog sees it. */
export interface FailureFacts {
  errorCode: ErrorCode;
  skill: string;
  message: string;
  httpStatus?: number | undefined;
}

/** What the catalog in force said of one failed attempt. */
export interface FailureClassification {
  catalogVersion: string;
  catalogHash: string;
  /** The entry that matched, in full; null: none did and the error taxonomy decided. */
  entry: CatalogEntry | null;
  category: ErrorCategory;
  retry: boolean;
  recovery: Recovery;
  confidence: number;
  automatic: boolean;
}

export function entryMatches(entry: CatalogEntry, failure: FailureFacts): boolean {
  const { match } = entry;
  if (match.errorCode !== failure.errorCode) return false;
  if (match.skill !== undefined && match.skill !== failure.skill) return false;
  if (match.httpStatus !== undefined && match.httpStatus !== failure.httpStatus) return false;
  if (match.messagePattern !== undefined && !new RegExp(match.messagePattern, 'i').test(failure.message)) {
    return false;
  }
  return true;
}

/** Classifies a failure by the first matching entry, else by the error taxonomy alone. */
export function classifyFailure(catalog: HashedFailureCatalog, failure: FailureFacts): FailureClassification {
  const entry = catalog.entries.find((candidate) => entryMatches(candidate, failure)) ?? null;
  const base = { catalogVersion: catalog.version, catalogHash: catalog.hash, entry };
  if (entry) {
    const { category, retry, recovery, confidence, automatic } = entry;
    return { ...base, category, retry, recovery, confidence, automatic };
  }
  const { category, retryable } = errorCodes[failure.errorCode];
  return {
    ...base,
    category,
    retry: retryable,
    recovery: retryable ? { mode: 'retry_later', params: {} } : { mode: 'abort', params: {} },
    confidence: 0,
    automatic: false,
  };
}

/** Whether a classification suggests a recovery (anything but retrying or failing as usual). */
export function isRecovery(recovery: Recovery): boolean {
  return recovery.mode !== 'retry_later' && recovery.mode !== 'abort';
}
