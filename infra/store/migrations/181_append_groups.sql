-- Appends of several callers in one statement and one commit (a group commit,
-- infra/store/grouped-sends.ts, which moved there from infra/executor/ with this migration):
-- concurrent autocommitted appends — submissions arriving on many connections — that wait while
-- earlier ones are out go together. Each item is aos_append's arguments by name (as
-- aos_transitions takes them) and is answered as aos_append answers it, in order, tagged with
-- its item's number: unlike a step transition, an append that is not 'ok' (a duplicate, a wrong
-- version, a stale head) is an answer for its own caller, not a reason to undo the others. What
-- raises (an event id raced into another stream) undoes the group, and each append is then sent
-- again on its own.
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
    SELECT * INTO v_row FROM aos_append(
      v_append->>'streamId', v_append->>'streamType', v_append->>'tenantId', v_append->>'expected',
      (v_append->>'assumedVersion')::bigint, v_append->>'assumedHash',
      ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(v_append->'eventIds') AS x),
      ARRAY(SELECT x FROM jsonb_array_elements_text(v_append->'types') AS x),
      ARRAY(SELECT x::integer FROM jsonb_array_elements_text(v_append->'schemaVersions') AS x),
      ARRAY(SELECT x FROM jsonb_array_elements(v_append->'data') AS x),
      ARRAY(SELECT x FROM jsonb_array_elements(v_append->'metadata') AS x),
      (v_append->>'recordedAt')::timestamptz,
      ARRAY(SELECT x FROM jsonb_array_elements_text(v_append->'hashes') AS x),
      false);
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
ALTER FUNCTION aos_appends(jsonb) SET plan_cache_mode = force_generic_plan;
