-- The event store: one row per stream (its version and head hash), one row per event.
-- transaction_id lets readers of all events stay gap-free under concurrent writers:
-- they read only below pg_snapshot_xmin(pg_current_snapshot()), ordered by
-- (transaction_id, global_position).

CREATE TABLE aos_streams (
  stream_id   text PRIMARY KEY,
  stream_type text NOT NULL,
  tenant_id   text,
  version     bigint NOT NULL,
  last_hash   text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE aos_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
  event_id        uuid NOT NULL,
  stream_id       text NOT NULL,
  stream_position bigint NOT NULL,
  type            text NOT NULL,
  schema_version  integer NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  tenant_id       text,
  recorded_at     timestamptz NOT NULL,
  prev_hash       text NOT NULL,
  hash            text NOT NULL,
  CONSTRAINT aos_events_event_id_key UNIQUE (event_id),
  CONSTRAINT aos_events_stream_position_key UNIQUE (stream_id, stream_position)
);

CREATE INDEX aos_events_commit_order ON aos_events (transaction_id, global_position);

-- Appends a batch to one stream in one round trip.
--   p_expected: 'any' | 'no_stream' | 'stream_exists' | a version number as text.
--   p_assumed_version / p_assumed_hash: the stream head the caller computed the hashes
--   from (hashes chain on the previous event's hash); NULL hash = head unknown.
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
  p_hashes text[]
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
BEGIN
  -- Lock the stream row; a new stream gets a provisional row (version -1) so that
  -- concurrent creators queue on it like on any other stream.
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
    JOIN aos_events e ON e.event_id = t.event_id;

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
        JOIN aos_events e ON e.event_id = t.event_id;
    END IF;
    RETURN QUERY SELECT v_status, v_version, v_hash, v_positions, v_stream_positions;
    RETURN;
  END IF;

  WITH inserted AS (
    INSERT INTO aos_events (event_id, stream_id, stream_position, type, schema_version, data, metadata,
                            tenant_id, recorded_at, prev_hash, hash)
    SELECT t.event_id, p_stream_id, v_version + t.ord, t.type, t.schema_version, t.data, t.metadata,
           p_tenant_id, p_recorded_at, coalesce(lag(t.hash) OVER (ORDER BY t.ord), v_hash), t.hash
      FROM unnest(p_event_ids, p_types, p_schema_versions, p_data, p_metadata, p_hashes)
           WITH ORDINALITY AS t(event_id, type, schema_version, data, metadata, hash, ord)
     ORDER BY t.ord
    RETURNING aos_events.stream_position, aos_events.global_position
  )
  SELECT array_agg(i.global_position ORDER BY i.stream_position) INTO v_positions FROM inserted i;

  UPDATE aos_streams
     SET version = v_version + v_count, last_hash = p_hashes[v_count], updated_at = p_recorded_at
   WHERE stream_id = p_stream_id;

  PERFORM pg_notify('aos_events', '');
  RETURN QUERY SELECT 'ok'::text, v_version + v_count, p_hashes[v_count], v_positions, NULL::bigint[];
END;
$$;
