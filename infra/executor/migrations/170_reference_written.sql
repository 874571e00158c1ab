-- Reference data written anywhere is announced to every process (commands/reference-cache.ts):
-- a process caches the price table, the failure catalog, each tenant's policy and the
-- estimator breaker, and forgets them when it hears this, so a version put in force by another
-- instance is used at once rather than after the cache's time to live. On aos_streams (one row
-- per append, not per event), and only for those streams: every other append pays the WHEN.
-- The NOTIFY is delivered when the writing transaction commits; such writes are rare, so the
-- notification lock it holds through the commit costs nothing worth counting.
CREATE FUNCTION aos_reference_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('aos_reference_written', NEW.stream_id);
  RETURN NULL;
END;
$$;

CREATE TRIGGER aos_reference_written AFTER INSERT OR UPDATE ON aos_streams
  FOR EACH ROW
  WHEN (NEW.stream_id IN ('pricing', 'failure-catalog', 'estimator-breaker') OR NEW.stream_type = 'policy')
  EXECUTE FUNCTION aos_reference_written();
