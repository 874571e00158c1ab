-- aos_append, faster, with the contract of 001 unchanged (same statuses, idempotency checked
-- before the expected version). Three changes:
--   1. Every event-id lookup probes the event_id index once per id (CROSS JOIN LATERAL …
--      OFFSET 0). 001's plain join let plpgsql's cached generic plan, made with the statistics
--      of a new or emptied table, hash-join over a sequential scan of aos_events: appends cost
--      O(table size).
--   2. The common path is one statement: when the caller's assumed head satisfies the expected
--      version and none of the event ids is recorded yet, UPDATE … WHERE version = assumed AND
--      last_hash = assumed moves the head (and locks the row; a new stream: INSERT … ON
--      CONFLICT DO NOTHING) and the same statement inserts the events. Only when it changes
--      nothing does the function take 001's path: lock or create the row, check idempotency
--      under the lock, then the expected version and the head.
--   3. pg_notify only when p_notify: an append inside a caller's transaction (appendWith) must
--      wake subscribers at that transaction's commit. Autocommitted appends pass false and the
--      client sends a coalesced NOTIFY after they return: a NOTIFY in the appending transaction
--      holds PostgreSQL's cluster-wide notification lock through the WAL flush, which
--      serialises the commits of concurrent appenders.
-- The new parameter changes the signature, hence DROP + CREATE.

DROP FUNCTION aos_append(text, text, text, text, bigint, text, uuid[], text[], integer[], jsonb[], jsonb[],
                         timestamptz, text[]);

--   p_expected: 'any' | 'no_stream' | 'stream_exists' | a version number as text.
--   p_assumed_version / p_assumed_hash: the stream head the caller computed the hashes
--   from (hashes chain on the previous event's hash); NULL hash = head unknown.
--   p_notify: send pg_notify('aos_events', '') with the events (delivered at commit).
-- Returns a status instead of raising, so the caller learns the actual head:
--   ok, duplicate (all event ids recorded with the same content; nothing written),
--   wrong_version, stale_head (recompute hashes on the returned head and call again),
--   event_id_conflict.
CREATE FUNCTION aos_append(
  p_stream_id text,
  p_stream_type text,
  p_tenant_id text,
  p_expected text,
  p_assumed_version bigint,
  p_assumed_hash text,
  p_event_ids uuid[],
  p_types text[],
  p_schema_versions integer[],
  p_data jsonb[],
  p_metadata jsonb[],
  p_recorded_at timestamptz,
  p_hashes text[],
  p_notify boolean
) RETURNS TABLE (status text, stream_version bigint, head_hash text, global_positions bigint[],
                 stream_positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint;
  v_hash text;
  v_created boolean := false;
  v_found integer;
  v_same boolean;
  v_count integer := cardinality(p_event_ids);
  v_positions bigint[];
  v_stream_positions bigint[];
  v_status text;
  v_fast boolean;
BEGIN
  -- Fast path, one statement: when the assumed head satisfies the expected version, move it
  -- with UPDATE … WHERE version and last_hash are the assumed ones (which also takes the row
  -- lock; a new stream: INSERT … ON CONFLICT DO NOTHING), unless an event id is recorded
  -- already; then insert the events. Idempotency stays first: a recorded id means no fast path.
  -- The id check probes the unique index once per id, whatever the statistics say (OFFSET 0
  -- keeps the planner from flattening it into a hash join over a scan of aos_events).
  v_fast := p_assumed_hash IS NOT NULL
    AND CASE p_expected
          WHEN 'any' THEN true
          WHEN 'no_stream' THEN p_assumed_version = -1
          WHEN 'stream_exists' THEN p_assumed_version <> -1
          ELSE p_expected::bigint = p_assumed_version
        END
    AND (p_assumed_version <> -1 OR p_assumed_hash = repeat('0', 64));
  IF v_fast THEN
    WITH recorded AS (
      SELECT 1 FROM unnest(p_event_ids) AS t(event_id)
       CROSS JOIN LATERAL (SELECT 1 FROM aos_events e WHERE e.event_id = t.event_id OFFSET 0) e
    ), created AS (
      INSERT INTO aos_streams (stream_id, stream_type, tenant_id, version, last_hash, created_at, updated_at)
      SELECT p_stream_id, p_stream_type, p_tenant_id, v_count - 1, p_hashes[v_count], p_recorded_at,
             p_recorded_at
       WHERE p_assumed_version = -1 AND NOT EXISTS (SELECT 1 FROM recorded)
      ON CONFLICT (stream_id) DO NOTHING
      RETURNING 1
    ), moved AS (
      UPDATE aos_streams
         SET version = p_assumed_version + v_count, last_hash = p_hashes[v_count], updated_at = p_recorded_at
       WHERE p_assumed_version <> -1 AND stream_id = p_stream_id AND version = p_assumed_version
         AND last_hash = p_assumed_hash AND NOT EXISTS (SELECT 1 FROM recorded)
      RETURNING 1
    ), inserted AS (
      INSERT INTO aos_events (event_id, stream_id, stream_position, type, schema_version, data, metadata,
                              tenant_id, recorded_at, prev_hash, hash)
      SELECT t.event_id, p_stream_id, p_assumed_version + t.ord, t.type, t.schema_version, t.data,
             t.metadata, p_tenant_id, p_recorded_at,
             -- each event chains on the previous one's hash; p_hashes[0] is NULL: the head's
             coalesce(p_hashes[t.ord - 1], p_assumed_hash), t.hash
        FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_hashes)
             WITH ORDINALITY AS t(event_id, type, schema_version, data, metadata, hash, ord)
       WHERE EXISTS (SELECT 1 FROM created UNION ALL SELECT 1 FROM moved)
       ORDER BY t.ord
      RETURNING aos_events.stream_position, aos_events.global_position
    )
    SELECT array_agg(i.global_position ORDER BY i.stream_position) INTO v_positions FROM inserted i;
    IF v_positions IS NOT NULL THEN
      IF p_notify THEN
        PERFORM pg_notify('aos_events', '');
      END IF;
      RETURN QUERY SELECT 'ok'::text, p_assumed_version + v_count, p_hashes[v_count], v_positions, NULL::bigint[];
      RETURN;
    END IF;
  END IF;

  -- Full path (001's): lock the stream row; a new stream gets a provisional row (version -1)
  -- so that concurrent creators queue on it like on any other stream.
  SELECT s.version, s.last_hash INTO v_version, v_hash
    FROM aos_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
  IF NOT FOUND THEN
    IF p_expected NOT IN ('any', 'no_stream') AND p_expected <> '-1' THEN
      RETURN QUERY SELECT 'wrong_version'::text, -1::bigint, repeat('0', 64), NULL::bigint[], NULL::bigint[];
      RETURN;
    END IF;
    INSERT INTO aos_streams (stream_id, stream_type, tenant_id, version, last_hash, created_at, updated_at)
      VALUES (p_stream_id, p_stream_type, p_tenant_id, -1, repeat('0', 64), p_recorded_at, p_recorded_at)
      ON CONFLICT (stream_id) DO NOTHING;
    v_created := FOUND;
    SELECT s.version, s.last_hash INTO v_version, v_hash
      FROM aos_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
  END IF;

  -- A retried append: every event id already recorded with the same content.
  SELECT count(*), coalesce(bool_and(e.stream_id = p_stream_id AND e.type = t.type
           AND e.schema_version = t.schema_version AND e.data = t.data), true)
    INTO v_found, v_same
    FROM unnest(p_event_ids, p_types, p_schema_versions, p_data) AS t(event_id, type, schema_version, data)
    CROSS JOIN LATERAL (SELECT e.stream_id, e.type, e.schema_version, e.data FROM aos_events e
                         WHERE e.event_id = t.event_id OFFSET 0) e;

  IF v_found > 0 THEN
    v_status := CASE WHEN v_found = v_count AND v_same THEN 'duplicate' ELSE 'event_id_conflict' END;
  ELSIF (p_expected = 'no_stream' AND v_version <> -1)
     OR (p_expected = 'stream_exists' AND v_version = -1)
     OR (p_expected NOT IN ('any', 'no_stream', 'stream_exists') AND p_expected::bigint <> v_version) THEN
    v_status := 'wrong_version';
  ELSIF p_assumed_hash IS NULL OR p_assumed_version <> v_version OR p_assumed_hash <> v_hash THEN
    v_status := 'stale_head';
  ELSE
    v_status := 'ok';
  END IF;

  IF v_status <> 'ok' THEN
    IF v_created THEN
      DELETE FROM aos_streams WHERE stream_id = p_stream_id;
    END IF;
    IF v_status = 'duplicate' THEN
      SELECT array_agg(e.global_position ORDER BY t.ord), array_agg(e.stream_position ORDER BY t.ord)
        INTO v_positions, v_stream_positions
        FROM unnest(p_event_ids) WITH ORDINALITY AS t(event_id, ord)
        CROSS JOIN LATERAL (SELECT e.global_position, e.stream_position FROM aos_events e
                             WHERE e.event_id = t.event_id OFFSET 0) e;
    END IF;
    RETURN QUERY SELECT v_status, v_version, v_hash, v_positions, v_stream_positions;
    RETURN;
  END IF;

  UPDATE aos_streams
     SET version = v_version + v_count, last_hash = p_hashes[v_count], updated_at = p_recorded_at
   WHERE stream_id = p_stream_id;

  WITH inserted AS (
    INSERT INTO aos_events (event_id, stream_id, stream_position, type, schema_version, data, metadata,
                            tenant_id, recorded_at, prev_hash, hash)
    SELECT t.event_id, p_stream_id, v_version + t.ord, t.type, t.schema_version, t.data, t.metadata,
           p_tenant_id, p_recorded_at, coalesce(p_hashes[t.ord - 1], v_hash), t.hash
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_hashes)
           WITH ORDINALITY AS t(event_id, type, schema_version, data, metadata, hash, ord)
     ORDER BY t.ord
    RETURNING aos_events.stream_position, aos_events.global_position
  )
  SELECT array_agg(i.global_position ORDER BY i.stream_position) INTO v_positions FROM inserted i;

  IF p_notify THEN
    PERFORM pg_notify('aos_events', '');
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_version + v_count, p_hashes[v_count], v_positions, NULL::bigint[];
END;
$$;
