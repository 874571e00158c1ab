-- A group of appends (aos_append_group), for aos_appends and aos_transitions: made set-wide when
-- it can be — the group's known stream heads locked (in stream-id order) and checked, its new
-- streams created, the rest moved, and every event inserted by one INSERT — else one aos_append
-- per append, in order, as both did before; each append answered as aos_append answers it. Each aos_append call cost ~60 µs of its own (its CTE's start-up, the head's UPDATE,
-- the id probes) beside the ~20 µs a row costs to insert, and a burst's groups hold 10–35
-- appends: in a server-side loop of 35 × 3-event groups, 2.1–2.3 ms a group from 3.6–3.9.
--
-- A group of 4 appends or more is made set-wide when every append is one aos_append's own fast
-- path would take — one append per stream, a known head that satisfies the expected version, no
-- stream taken for new that exists, no event id recorded — and all are answered 'ok'. Otherwise
-- nothing is written by the checks, the appends go one by one, and aos_append names what is
-- wrong. The one refusal of its own: a stream taken for new that another transaction created
-- between the check and the insert (AOS02: the statement fails, and nothing of it commits).
CREATE FUNCTION aos_append_group(p_appends aos_append_arguments[])
RETURNS TABLE (n integer, status text, stream_version bigint, head_hash text, global_positions bigint[],
               stream_positions bigint[])
LANGUAGE plpgsql
-- Planned once per session, as aos_append (migration 160 says why). A plan made while the tables
-- were small scanned aos_streams for the heads' tuple ids (cheaper then than a TID scan), and kept
-- doing so as they grew: every statement here is a probe by key or tuple id, never a scan.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
  v_count integer := coalesce(cardinality(p_appends), 0);
  v_known integer;
  v_set boolean := false;
  v_heads tid[];
  v_created integer;
  v_append record;
BEGIN
  -- Fewer than 4 appends go one by one: there a call each costs no more (server-side loop, 3
  -- events an append: 1 append 111–170 µs by aos_append, 175–218 set-wide; 2: 202–222 and
  -- 243–257; 4: 392–425 and 373–410; 8: 811–850 and 656–692; 35: 3.6–3.9 ms and 2.1–2.3).
  IF v_count >= 4 THEN
    -- (coalesce: an append with no expected version at all is not one to take.)
    SELECT coalesce(count(DISTINCT x."streamId") = count(*)
           AND bool_and(x."assumedHash" IS NOT NULL
                 AND CASE x.expected
                       WHEN 'any' THEN true
                       WHEN 'no_stream' THEN x."assumedVersion" = -1
                       WHEN 'stream_exists' THEN x."assumedVersion" <> -1
                       ELSE x.expected::bigint = x."assumedVersion"
                     END
                 AND (x."assumedVersion" <> -1 OR x."assumedHash" = repeat('0', 64))), false),
           count(*) FILTER (WHERE x."assumedVersion" <> -1)
      INTO v_set, v_known
      FROM unnest(p_appends) AS x;
  END IF;
  IF v_set THEN
    -- The known heads, locked in one order; one that moved meanwhile is neither locked nor
    -- counted. Every probe here is an index probe whatever the cached plan (lateral subqueries);
    -- the tuple ids let the UPDATE below find the heads again without a join such a plan could
    -- make a scan of (locked, they cannot move).
    SELECT array_agg(locked.ctid) INTO v_heads
      FROM (SELECT * FROM unnest(p_appends) AS u WHERE u."assumedVersion" <> -1
             ORDER BY u."streamId" COLLATE "C") AS x
      CROSS JOIN LATERAL (
        SELECT s.ctid FROM aos_streams s
         WHERE s.stream_id = x."streamId" AND s.version = x."assumedVersion" AND s.last_hash = x."assumedHash"
           FOR UPDATE) AS locked;
    v_set := coalesce(cardinality(v_heads), 0) = v_known
      AND NOT EXISTS (
        SELECT 1 FROM unnest(p_appends) AS x
         CROSS JOIN LATERAL (SELECT 1 FROM aos_streams s WHERE s.stream_id = x."streamId" OFFSET 0) AS s
         WHERE x."assumedVersion" = -1)
      AND NOT EXISTS (
        SELECT 1 FROM unnest(p_appends) AS x, unnest(x."eventIds") AS t(event_id)
         CROSS JOIN LATERAL (SELECT 1 FROM aos_events e WHERE e.event_id = t.event_id OFFSET 0) AS e);
  END IF;

  IF NOT v_set THEN
    FOR v_append IN SELECT x.*, x.ordinality::integer AS k FROM unnest(p_appends) WITH ORDINALITY AS x LOOP
      RETURN QUERY SELECT v_append.k, r.* FROM aos_append(
        v_append."streamId", v_append."streamType", v_append."tenantId", v_append.expected,
        v_append."assumedVersion", v_append."assumedHash", v_append."eventIds", v_append.types,
        v_append."schemaVersions", v_append.data, v_append.metadata, v_append."recordedAt", v_append.hashes,
        false) AS r;
    END LOOP;
    RETURN;
  END IF;

  INSERT INTO aos_streams (stream_id, stream_type, tenant_id, version, last_hash, created_at, updated_at)
  SELECT x."streamId", x."streamType", x."tenantId", cardinality(x."eventIds") - 1,
         x.hashes[cardinality(x.hashes)], x."recordedAt", x."recordedAt"
    FROM unnest(p_appends) AS x
   WHERE x."assumedVersion" = -1
   ORDER BY x."streamId" COLLATE "C"
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS v_created = ROW_COUNT;
  IF v_created <> v_count - v_known THEN
    RAISE EXCEPTION 'a stream of the group was created meanwhile' USING ERRCODE = 'AOS02';
  END IF;
  UPDATE aos_streams AS s
     SET version = x."assumedVersion" + cardinality(x."eventIds"), last_hash = x.hashes[cardinality(x.hashes)],
         updated_at = x."recordedAt"
    FROM unnest(p_appends) AS x
   WHERE s.ctid = ANY (v_heads) AND s.stream_id = x."streamId";

  RETURN QUERY
  WITH inserted AS (
    INSERT INTO aos_events (event_id, stream_id, stream_position, type, schema_version, data, metadata,
                            tenant_id, recorded_at, prev_hash, hash)
    SELECT t.event_id, x."streamId", x."assumedVersion" + t.ord, t.type, t.schema_version, t.data, t.metadata,
           x."tenantId", x."recordedAt",
           -- each event chains on the previous one's hash; hashes[0] is NULL: the head's
           coalesce(x.hashes[t.ord - 1], x."assumedHash"), t.hash
      FROM unnest(p_appends) WITH ORDINALITY AS x
     CROSS JOIN LATERAL unnest(x."eventIds", x.types, x."schemaVersions", x.data, x.metadata, x.hashes)
           WITH ORDINALITY AS t(event_id, type, schema_version, data, metadata, hash, ord)
     -- as one aos_append after the other would: global positions in append and event order
     ORDER BY x.ordinality, t.ord
    RETURNING aos_events.stream_id, aos_events.stream_position, aos_events.global_position
  ), appended AS (
    SELECT i.stream_id, array_agg(i.global_position ORDER BY i.stream_position) AS positions
      FROM inserted i GROUP BY i.stream_id
  )
  SELECT x.ordinality::integer, 'ok'::text, x."assumedVersion" + cardinality(x."eventIds"),
         x.hashes[cardinality(x.hashes)], a.positions, NULL::bigint[]
    FROM unnest(p_appends) WITH ORDINALITY AS x
    JOIN appended a ON a.stream_id = x."streamId"
   ORDER BY x.ordinality;
END;
$$;

-- aos_appends: its items as one group, each answered.
CREATE OR REPLACE FUNCTION aos_appends(p_items jsonb)
RETURNS TABLE (item integer, status text, stream_version bigint, head_hash text, global_positions bigint[],
               stream_positions bigint[])
LANGUAGE plpgsql
-- Planned once per session, as aos_append (migration 160 says why); CREATE OR REPLACE resets it.
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN QUERY SELECT g.* FROM aos_append_group(ARRAY(
    SELECT x FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n),
                  jsonb_populate_record(NULL::aos_append_arguments, i.value) AS x
     ORDER BY i.n)) AS g;
END;
$$;
