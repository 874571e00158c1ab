-- Runs executors may work on, fed from the event stream by the run queue feeder.
CREATE TABLE aos_run_queue (
  run_id           text PRIMARY KEY,
  tenant_id        text NOT NULL,
  due_at           timestamptz NOT NULL,
  lease_owner      text,
  lease_expires_at timestamptz,
  done             boolean NOT NULL DEFAULT false
);
CREATE INDEX aos_run_queue_due ON aos_run_queue (due_at) WHERE NOT done;

-- Where each reader of the event stream (feeders, projections) stands. Written in the
-- same transaction as the reader's own changes, so each event takes effect exactly once.
CREATE TABLE aos_checkpoints (
  name       text PRIMARY KEY,
  checkpoint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
