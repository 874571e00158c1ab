// What `aos verify` (and replay, which verifies while it folds) reports: the kind of each
// problem and where it is. The kinds are explained at the top of replay/verify.ts.
export const problemKinds = [
  'edited',
  'deleted',
  'inserted',
  'reordered',
  'truncated',
  'bad_signature',
  'manifest_mismatch',
] as const;
export type ProblemKind = (typeof problemKinds)[number];

export interface VerifyProblem {
  kind: ProblemKind;
  /** 1-based line of the file; null when the problem is not at one line (a manifest total). */
  line: number | null;
  message: string;
  streamId?: string;
  streamPosition?: number;
}
