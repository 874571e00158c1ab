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
//
// The catalog's shape is in domain/failure-catalog-schema.ts (no hashing: route contracts use it).
import { type ErrorCategory, type ErrorCode, errorCodes } from './errors.ts';
import type {
  CatalogEntry,
  FailureCatalog,
  HashedFailureCatalog,
  Recovery,
} from './failure-catalog-schema.ts';
import { canonicalHash } from './hashing.ts';

export {
  type CatalogEntry,
  catalogEntriesSchema,
  catalogEntrySchema,
  type FailureCatalog,
  type FailureCatalogInput,
  failureCatalogSchema,
  type HashedFailureCatalog,
  type Recovery,
  type RecoveryMode,
  recoveryModes,
  recoverySchema,
} from './failure-catalog-schema.ts';

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
