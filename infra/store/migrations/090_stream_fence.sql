-- A fence on a stream: what makes "nothing starts after the stop is recorded" strict across
-- processes (docs/failures.md, the emergency stop). A transaction that must not commit after
-- an append to the stream it depends on takes a share of the stream's fence; the appending
-- transaction takes the fence exclusively before it appends. The exclusive holder therefore
-- waits for every share holder in progress to commit, and a share taken after it waits for
-- its commit. An advisory lock rather than the stream row's lock, because the stream may not
-- exist yet: its first append must be fenced too.
--
-- Returns the stream's committed version (-1: none) read after the lock is granted: the
-- SELECT of a volatile function takes a fresh snapshot, so a share holder that waited for an
-- exclusive one sees what it committed. The lock is held until the transaction ends.
CREATE FUNCTION aos_fence(p_stream_id text, p_exclusive boolean) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_key bigint := hashtextextended('aos_fence:' || p_stream_id, 0);
  v_version bigint;
BEGIN
  IF p_exclusive THEN
    PERFORM pg_advisory_xact_lock(v_key);
  ELSE
    PERFORM pg_advisory_xact_lock_shared(v_key);
  END IF;
  SELECT s.version INTO v_version FROM aos_streams s WHERE s.stream_id = p_stream_id;
  RETURN coalesce(v_version, -1);
END;
$$;
