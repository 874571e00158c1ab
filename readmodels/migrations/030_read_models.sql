-- Read models: tables the projections fill. Each projection owns its tables; a version
-- bump truncates them and re-folds from the first event.

CREATE TABLE aos_projections (
  name       text PRIMARY KEY,
  version    integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Per-entity state a projection keeps between events (e.g. a run's last status).
CREATE TABLE aos_projection_state (
  projection text NOT NULL,
  key        text NOT NULL,
  state      jsonb,
  PRIMARY KEY (projection, key)
);

CREATE TABLE rm_status_history (
  id              uuid PRIMARY KEY,
  entity_type     text NOT NULL,
  entity_id       text NOT NULL,
  old_status      text,
  new_status      text NOT NULL,
  actor_type      text NOT NULL,
  actor_id        text,
  reason          text,
  tenant_id       text NOT NULL,
  correlation_id  text,
  metadata        jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  sequence        integer NOT NULL,
  global_position bigint NOT NULL,
  event_id        uuid NOT NULL
);
CREATE INDEX rm_status_history_tenant_time ON rm_status_history (tenant_id, created_at DESC, id);
CREATE INDEX rm_status_history_entity ON rm_status_history (tenant_id, entity_id, sequence);

CREATE TABLE rm_runs (
  run_id      text PRIMARY KEY,
  tenant_id   text NOT NULL,
  agent_id    text NOT NULL,
  status      text NOT NULL,
  cost_micros bigint NOT NULL,
  attempts    integer NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  detail      jsonb NOT NULL
);
CREATE INDEX rm_runs_tenant_created ON rm_runs (tenant_id, created_at DESC, run_id DESC);

CREATE TABLE rm_costs (
  tenant_id       text NOT NULL,
  day             date NOT NULL,
  skill           text NOT NULL,
  model           text NOT NULL,
  charges         bigint NOT NULL DEFAULT 0,
  charged_micros  bigint NOT NULL DEFAULT 0,
  computed_micros bigint NOT NULL DEFAULT 0,
  provider_micros bigint NOT NULL DEFAULT 0,
  estimate_micros bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, skill, model)
);

CREATE TABLE rm_failures (
  tenant_id  text NOT NULL,
  error_code text NOT NULL,
  skill      text NOT NULL,
  failures   bigint NOT NULL DEFAULT 0,
  last_at    timestamptz,
  PRIMARY KEY (tenant_id, error_code, skill)
);

CREATE TABLE rm_policy_decisions (
  decision_id     uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  run_id          text NOT NULL,
  step_index      integer NOT NULL,
  attempt         integer NOT NULL,
  policy_version  text NOT NULL,
  policy_hash     text NOT NULL,
  rule_id         text NOT NULL,
  input_digest    text NOT NULL,
  result          text NOT NULL,
  reason          text NOT NULL,
  input           jsonb NOT NULL,
  decided_at      timestamptz NOT NULL,
  global_position bigint NOT NULL
);
CREATE INDEX rm_policy_decisions_tenant ON rm_policy_decisions (tenant_id, decided_at DESC);

CREATE TABLE rm_divergence_samples (
  sample_id         uuid PRIMARY KEY,
  tenant_id         text NOT NULL,
  source            text NOT NULL,
  scope             text NOT NULL,
  run_id            text NOT NULL,
  step_index        integer,
  skill             text,
  model             text,
  input_hash        text,
  baseline_micros   bigint NOT NULL,
  compared_micros   bigint NOT NULL,
  baseline_feasible boolean,
  compared_feasible boolean,
  sampled_at        timestamptz NOT NULL
);
CREATE INDEX rm_divergence_samples_tenant ON rm_divergence_samples (tenant_id, source, sampled_at);
