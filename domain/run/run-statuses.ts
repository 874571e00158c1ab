// The run statuses as plain lists, without zod: the web console (console/) bundles them.
export const finalRunStatuses = [
  'succeeded',
  'failed',
  'cancelled',
  'budget_exceeded',
  'policy_denied',
  'timed_out',
  /** A run whose failure was to be compensated, and a compensation failed too. */
  'compensation_failed',
] as const;
export type FinalRunStatus = (typeof finalRunStatuses)[number];

export const runStatuses = [
  'queued',
  'running',
  'waiting_approval',
  'retrying',
  /** An emergency stop holds its tenant: no attempt starts until it is lifted. */
  'paused',
  ...finalRunStatuses,
] as const;
export type RunStatus = (typeof runStatuses)[number];

export function isFinalStatus(status: RunStatus): status is FinalRunStatus {
  return (finalRunStatuses as readonly string[]).includes(status);
}

/** The older SDK's four run statuses (projections/legacy-run.ts maps ours onto them). */
export const legacyRunStatuses = ['pending', 'running', 'succeeded', 'failed'] as const;
export type LegacyRunStatus = (typeof legacyRunStatuses)[number];
