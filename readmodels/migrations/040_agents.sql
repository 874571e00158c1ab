-- Agents: one row per registered agent profile (projections/agents.ts).
CREATE TABLE rm_agents (
  tenant_id   text NOT NULL,
  agent_id    text NOT NULL,
  name        text NOT NULL,
  planner     text NOT NULL,
  profile     jsonb NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, agent_id)
);
CREATE INDEX rm_runs_tenant_agent_created ON rm_runs (tenant_id, agent_id, created_at DESC);
