-- aos_transitions reads each append and each day move from its JSON object in one call
-- (jsonb_populate_record(set) into a composite of aos_append's or aos_move_budget_day's
-- parameters) instead of a subquery per array (migration 180), as aos_appends does since
-- migration 182, and calls aos_append directly. Same signature, answers, lock order and errors.
-- aos_append_json (migration 181) has no caller left.
CREATE TYPE aos_day_move AS (
  "dayId" text,
  scopes text[],
  reserved bigint[],
  settled bigint[],
  caps bigint[]
);

CREATE OR REPLACE FUNCTION aos_transitions(p_items jsonb)
RETURNS TABLE (item integer, stream_id text, stream_version bigint, head_hash text, global_positions bigint[])
LANGUAGE plpgsql
-- Planned once per session, as aos_transition (migration 171 says why); CREATE OR REPLACE resets it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_item jsonb;
  v_n integer;
  a aos_append_arguments;
  v_move aos_day_move;
  v_row record;
BEGIN
  FOR v_item, v_n IN SELECT i.value, i.n::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n) LOOP
    IF v_item->>'fenceStream' IS NOT NULL
       AND aos_fence(v_item->>'fenceStream', false) <> (v_item->>'fenceVersion')::bigint THEN
      RAISE EXCEPTION 'the fence of % moved', v_item->>'fenceStream' USING ERRCODE = 'AOS01';
    END IF;
    FOR a IN
      SELECT x.* FROM jsonb_array_elements(v_item->'appends') AS j,
                      jsonb_populate_record(NULL::aos_append_arguments, j.value) AS x
    LOOP
      SELECT * INTO v_row FROM aos_append(
        a."streamId", a."streamType", a."tenantId", a.expected, a."assumedVersion", a."assumedHash",
        a."eventIds", a.types, a."schemaVersions", a.data, a.metadata, a."recordedAt", a.hashes, false);
      IF v_row.status <> 'ok' THEN
        RAISE EXCEPTION 'the append to % answered %', a."streamId", v_row.status USING ERRCODE = 'AOS02';
      END IF;
      item := v_n;
      stream_id := a."streamId";
      stream_version := v_row.stream_version;
      head_hash := v_row.head_hash;
      global_positions := v_row.global_positions;
      RETURN NEXT;
    END LOOP;
  END LOOP;
  -- Every item's day moves, ordered by day: every statement locks the days' rows in one order.
  FOR v_move IN
    SELECT m."dayId", m.scopes, m.reserved, m.settled, m.caps
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n),
           jsonb_populate_recordset(NULL::aos_day_move, i.value->'moves') WITH ORDINALITY AS m
     ORDER BY m."dayId" COLLATE "C", i.n, m.ordinality
  LOOP
    IF aos_move_budget_day(v_move."dayId", v_move.scopes, v_move.reserved, v_move.settled, v_move.caps)
       <> cardinality(v_move.scopes) THEN
      RAISE EXCEPTION 'the budget day % has no room', v_move."dayId" USING ERRCODE = 'AOS03';
    END IF;
  END LOOP;
END;
$$;

DROP FUNCTION aos_append_json(jsonb);
