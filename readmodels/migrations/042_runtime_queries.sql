-- What an agent asks the runtime (POST /v1/runtime/query): its attempts (projections/attempts.ts),
-- each run's budget and last step (projections/run-context.ts) and each tenant day's ledger
-- totals (projections/budget-days.ts).
CREATE TABLE rm_attempts (
  run_id        text NOT NULL,
  step_index    integer NOT NULL,
  attempt       integer NOT NULL,
  compensation  boolean NOT NULL,
  tenant_id     text NOT NULL,
  agent_id      text NOT NULL,
  step_id       text NOT NULL,
  skill         text NOT NULL,
  skill_version text,
  input_hash    text,
  outcome       text NOT NULL,
  error_code    text,
  category      text,
  retryable     boolean,
  message       text,
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  PRIMARY KEY (run_id, step_index, attempt, compensation)
);
CREATE INDEX rm_attempts_tenant_run ON rm_attempts (tenant_id, run_id, started_at DESC);
CREATE INDEX rm_attempts_tenant_agent ON rm_attempts (tenant_id, agent_id, started_at DESC);

CREATE TABLE rm_run_context (
  run_id           text PRIMARY KEY,
  tenant_id        text NOT NULL,
  agent_id         text NOT NULL,
  status           text NOT NULL,
  max_cost_micros  bigint NOT NULL,
  charged_micros   bigint NOT NULL,
  in_flight_micros bigint NOT NULL,
  last_step        jsonb,
  last_step_at     timestamptz,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX rm_run_context_tenant_agent ON rm_run_context (tenant_id, agent_id, last_step_at DESC NULLS LAST);

CREATE TABLE rm_budget_days (
  tenant_id       text NOT NULL,
  day             date NOT NULL,
  reserved_micros bigint NOT NULL,
  settled_micros  bigint NOT NULL,
  models          jsonb NOT NULL,
  PRIMARY KEY (tenant_id, day)
);
