-- Issue 15: GET /v1/failures shows when each failure was first seen and what the failure
-- catalog last said of it (projections/failures.ts, version 2, rebuilt beside the old tables).
ALTER TABLE rm_failures ADD COLUMN first_at timestamptz;

CREATE TABLE rm_failure_classes (
  tenant_id       text NOT NULL,
  error_code      text NOT NULL,
  skill           text NOT NULL,
  catalog_version text NOT NULL,
  entry_id        text,
  category        text NOT NULL,
  retry           boolean NOT NULL,
  recovery        jsonb NOT NULL,
  confidence      double precision NOT NULL,
  automatic       boolean NOT NULL,
  at              timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, error_code, skill)
);
