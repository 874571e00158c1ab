-- Appends of several callers in one statement and one commit (a group commit,
-- infra/store/grouped-sends.ts, which moved there from infra/executor/ with this migration):
-- concurrent autocommitted appends — submissions arriving on many connections — that wait while
-- earlier ones are out go together. Each item is aos_append's arguments by name (as
-- aos_transitions takes them) and is answered as aos_append answers it, in order, tagged with
-- its item's number: unlike a step transition, an append that is not 'ok' (a duplicate, a wrong
-- version, a stale head) is an answer for its own caller, not a reason to undo the others. What
-- raises (an event id raced into another stream) undoes the group, and each append is then sent
-- again on its own.
-- aos_append_json: aos_append with its arguments by name in one JSON object (p_notify false), as
-- groups send them: aos_appends here, aos_transitions (migration 180).
CREATE FUNCTION aos_append_json(p_append jsonb)
RETURNS TABLE (status text, stream_version bigint, head_hash text, global_positions bigint[],
               stream_positions bigint[])
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM aos_append(
    p_append->>'streamId', p_append->>'streamType', p_append->>'tenantId', p_append->>'expected',
    (p_append->>'assumedVersion')::bigint, p_append->>'assumedHash',
    ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(p_append->'eventIds') AS x),
    ARRAY(SELECT x FROM jsonb_array_elements_text(p_append->'types') AS x),
    ARRAY(SELECT x::integer FROM jsonb_array_elements_text(p_append->'schemaVersions') AS x),
    ARRAY(SELECT x FROM jsonb_array_elements(p_append->'data') AS x),
    ARRAY(SELECT x FROM jsonb_array_elements(p_append->'metadata') AS x),
    (p_append->>'recordedAt')::timestamptz,
    ARRAY(SELECT x FROM jsonb_array_elements_text(p_append->'hashes') AS x),
    false);
END;
$$;

CREATE FUNCTION aos_appends(p_items jsonb)
RETURNS TABLE (item integer, status text, stream_version bigint, head_hash text, global_positions bigint[],
               stream_positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_append jsonb;
  v_n integer;
  v_row record;
BEGIN
  FOR v_append, v_n IN SELECT a.value, a.n::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS a(value, n) LOOP
    SELECT * INTO v_row FROM aos_append_json(v_append);
    item := v_n;
    status := v_row.status;
    stream_version := v_row.stream_version;
    head_hash := v_row.head_hash;
    global_positions := v_row.global_positions;
    stream_positions := v_row.stream_positions;
    RETURN NEXT;
  END LOOP;
END;
$$;
-- Planned once per session, as aos_append (migration 160 says why).
ALTER FUNCTION aos_append_json(jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION aos_appends(jsonb) SET plan_cache_mode = force_generic_plan;
