-- Issue 15: when a pending approval escalates, and when it did (projections/approvals.ts, version 2).
ALTER TABLE rm_approvals ADD COLUMN escalates_at timestamptz;
ALTER TABLE rm_approvals ADD COLUMN escalated_at timestamptz;
