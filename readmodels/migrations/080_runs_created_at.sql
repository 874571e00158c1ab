-- The estimator canary samples the last day's runs of every tenant (infra/estimators/recent-runs.ts).
CREATE INDEX IF NOT EXISTS rm_runs_created_at ON rm_runs (created_at);
