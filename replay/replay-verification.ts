// What replay says about the export it folded: whether the file verified (every hash and
// chain, the manifest, the signature when a key was given), and, when it did not and the
// user replayed it anyway (`--unverified`), that mark on every report replay writes, so no
// certification or what-if drawn from an edited file can pass for one drawn from the record.
import type { SignatureStatus, VerifyProblem, VerifyReport } from './verify.ts';

/** Problems listed on a report; the count says how many there were. */
const LISTED = 20;

export interface ReplayVerification {
  verified: boolean;
  /** Set when the export did not verify and was replayed because --unverified said so. */
  unverified: boolean;
  signature: SignatureStatus;
  problemCount: number;
  problems: VerifyProblem[];
}

export function replayVerification(report: VerifyReport, allowUnverified: boolean): ReplayVerification {
  return {
    verified: report.ok,
    unverified: !report.ok && allowUnverified,
    signature: report.signature,
    problemCount: report.problems.length,
    problems: report.problems.slice(0, LISTED),
  };
}

const where = (problem: VerifyProblem) => (problem.line === null ? 'manifest' : `line ${problem.line}`);

/** The lines a console report shows for it: one when it verified, the problems when not. */
export function verificationLines(verification: ReplayVerification): string[] {
  if (verification.verified) {
    return [`  verified    every hash and chain, the manifest; signature ${verification.signature}`];
  }
  const out = [
    `  UNVERIFIED  the export does not verify (${verification.problemCount} problems)${verification.unverified ? ': replayed because --unverified was given; nothing below is certified by the record' : ''}`,
  ];
  for (const problem of verification.problems) {
    out.push(`    ${where(problem)}: ${problem.kind}: ${problem.message}`);
  }
  if (verification.problemCount > verification.problems.length) {
    out.push(
      `    … and ${verification.problemCount - verification.problems.length} more (aos verify lists them all)`,
    );
  }
  return out;
}
