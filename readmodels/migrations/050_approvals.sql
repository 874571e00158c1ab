-- Approvals: one row per approval a run asked for, with where it stands (projections/approvals.ts).
CREATE TABLE rm_approvals (
  approval_id        uuid PRIMARY KEY,
  tenant_id          text NOT NULL,
  run_id             text NOT NULL,
  step_index         integer NOT NULL,
  attempt            integer NOT NULL,
  status             text NOT NULL,
  reason             text NOT NULL,
  requested_at       timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  ended_at           timestamptz,
  decided_by         text,
  comment            text,
  closed_reason      text,
  requested_position bigint NOT NULL
);
CREATE INDEX rm_approvals_tenant_status ON rm_approvals (tenant_id, status, requested_position);
CREATE INDEX rm_approvals_tenant ON rm_approvals (tenant_id, requested_position);
