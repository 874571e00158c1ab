-- aos_transitions makes its group's appends as one group (aos_append_group, migration 184:
-- set-wide when it can be, else one aos_append per stream as 183 did), and raises, as before, at
-- the first append not answered 'ok'. So the fences come first: every item's,
-- in item order, then the appends. That changes no answer: before, an item's fence was taken
-- after the earlier items' appends, which could move it only by appending to it — and that is
-- refused here as it was refused there (AOS01), before anything is written. Same signature,
-- answers, errors and day-move lock order.
CREATE OR REPLACE FUNCTION aos_transitions(p_items jsonb)
RETURNS TABLE (item integer, stream_id text, stream_version bigint, head_hash text, global_positions bigint[])
LANGUAGE plpgsql
-- Planned once per session, as aos_transition (migration 171 says why); CREATE OR REPLACE resets it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_item jsonb;
  v_appends aos_append_arguments[];
  v_items integer[];
  v_moved text;
  v_move aos_day_move;
  v_row record;
BEGIN
  SELECT array_agg(x ORDER BY i.n, j.k), array_agg(i.n::integer ORDER BY i.n, j.k)
    INTO v_appends, v_items
    FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n),
         jsonb_array_elements(i.value->'appends') WITH ORDINALITY AS j(value, k),
         jsonb_populate_record(NULL::aos_append_arguments, j.value) AS x;

  -- An item's fence that an earlier item of the group appends to.
  SELECT i.value->>'fenceStream' INTO v_moved
    FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n)
    JOIN unnest(v_appends) WITH ORDINALITY AS x ON x."streamId" = i.value->>'fenceStream'
   WHERE v_items[x.ordinality] < i.n
   LIMIT 1;
  IF v_moved IS NOT NULL THEN
    RAISE EXCEPTION 'the fence of % moved', v_moved USING ERRCODE = 'AOS01';
  END IF;
  FOR v_item IN SELECT i.value FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n) ORDER BY i.n LOOP
    IF v_item->>'fenceStream' IS NOT NULL
       AND aos_fence(v_item->>'fenceStream', false) <> (v_item->>'fenceVersion')::bigint THEN
      RAISE EXCEPTION 'the fence of % moved', v_item->>'fenceStream' USING ERRCODE = 'AOS01';
    END IF;
  END LOOP;

  FOR v_row IN
    SELECT g.*, v_items[g.n] AS of_item, (v_appends[g.n])."streamId" AS stream FROM aos_append_group(v_appends) AS g
  LOOP
    IF v_row.status <> 'ok' THEN
      RAISE EXCEPTION 'the append to % answered %', v_row.stream, v_row.status USING ERRCODE = 'AOS02';
    END IF;
    item := v_row.of_item;
    stream_id := v_row.stream;
    stream_version := v_row.stream_version;
    head_hash := v_row.head_hash;
    global_positions := v_row.global_positions;
    RETURN NEXT;
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
