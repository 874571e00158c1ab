-- Step transitions of several runs in one statement and one commit (a group commit,
-- infra/store/grouped-sends.ts): what the executor's concurrent runs have ready while an
-- earlier statement is out goes in the next one. Per transition (an item of p_items:
-- {fenceStream, fenceVersion, appends, moves}, aos_transition's arguments by name) the fence is
-- taken and the streams appended, in order (aos_append_json, migration 181); then every item's
-- day moves, ordered by day, so that every statement locks the days' rows in one order (a
-- transition that straddles midnight moves two days) and holds them only from there to the
-- commit. Anything but the expected
-- raises as aos_transition does (AOS01 fence, AOS02 append, AOS03 move): nothing of the group
-- commits, and each transition is sent again on its own, so one run's refusal stays its own.
CREATE FUNCTION aos_transitions(p_items jsonb)
RETURNS TABLE (item integer, stream_id text, stream_version bigint, head_hash text, global_positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_n integer;
  v_append jsonb;
  v_move jsonb;
  v_row record;
BEGIN
  FOR v_item, v_n IN SELECT i.value, i.n::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n) LOOP
    IF v_item->>'fenceStream' IS NOT NULL
       AND aos_fence(v_item->>'fenceStream', false) <> (v_item->>'fenceVersion')::bigint THEN
      RAISE EXCEPTION 'the fence of % moved', v_item->>'fenceStream' USING ERRCODE = 'AOS01';
    END IF;
    FOR v_append IN SELECT a.value FROM jsonb_array_elements(v_item->'appends') AS a LOOP
      SELECT * INTO v_row FROM aos_append_json(v_append);
      IF v_row.status <> 'ok' THEN
        RAISE EXCEPTION 'the append to % answered %', v_append->>'streamId', v_row.status USING ERRCODE = 'AOS02';
      END IF;
      item := v_n;
      stream_id := v_append->>'streamId';
      stream_version := v_row.stream_version;
      head_hash := v_row.head_hash;
      global_positions := v_row.global_positions;
      RETURN NEXT;
    END LOOP;
  END LOOP;
  FOR v_move IN
    SELECT m.value
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i(value, n),
           jsonb_array_elements(i.value->'moves') WITH ORDINALITY AS m(value, k)
     ORDER BY m.value->>'dayId' COLLATE "C", i.n, m.k
  LOOP
    IF aos_move_budget_day(
         v_move->>'dayId',
         ARRAY(SELECT x FROM jsonb_array_elements_text(v_move->'scopes') AS x),
         ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(v_move->'reserved') AS x),
         ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(v_move->'settled') AS x),
         ARRAY(SELECT x::bigint FROM jsonb_array_elements_text(v_move->'caps') AS x))
       <> jsonb_array_length(v_move->'scopes') THEN
      RAISE EXCEPTION 'the budget day % has no room', v_move->>'dayId' USING ERRCODE = 'AOS03';
    END IF;
  END LOOP;
END;
$$;
-- Planned once per session, as aos_transition (migration 171 says why).
ALTER FUNCTION aos_transitions(jsonb) SET plan_cache_mode = force_generic_plan;

-- One transition is a group of one: aos_transition stays, for a server of the previous
-- version still running beside this one during an upgrade.
CREATE OR REPLACE FUNCTION aos_transition(p_fence_stream text, p_fence_version bigint, p_appends jsonb, p_moves jsonb)
RETURNS TABLE (stream_id text, stream_version bigint, head_hash text, global_positions bigint[])
LANGUAGE sql AS $$
  SELECT t.stream_id, t.stream_version, t.head_hash, t.global_positions
    FROM aos_transitions(jsonb_build_array(jsonb_build_object(
           'fenceStream', p_fence_stream, 'fenceVersion', p_fence_version, 'appends', p_appends, 'moves', p_moves))) AS t
$$;
