-- Runs released while an emergency stop holds their tenant (docs/failures.md): the stop's
-- resume makes exactly these due at once instead of waiting for their next look.
ALTER TABLE aos_run_queue ADD COLUMN paused boolean NOT NULL DEFAULT false;
CREATE INDEX aos_run_queue_paused ON aos_run_queue (tenant_id) WHERE paused;
