-- A run made due while an executor holds it (an approval decided, a cancel asked, a child
-- ended) must not lose that wake-up when the executor releases it with a later due time:
-- the enqueue notes the earliest such time here, the release takes it into account, and a
-- claim (which reads the run anew) clears it.
ALTER TABLE aos_run_queue ADD COLUMN woken_at timestamptz;
