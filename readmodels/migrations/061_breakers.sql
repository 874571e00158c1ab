-- Issue 15: circuit breakers as they stand, per tenant and target (projections/breakers.ts).
CREATE TABLE rm_breakers (
  tenant_id    text NOT NULL,
  target       text NOT NULL,
  status       text NOT NULL,
  failures     integer NOT NULL,
  half_open_at timestamptz,
  since        timestamptz,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, target)
);
