-- A step transition in one statement (infra/executor/sql-budget-ledger.ts): the stop's fence,
-- every stream's append and the budget days' moves, committed together or not at all, in one
-- round trip instead of six (BEGIN, the fence, an append per stream, the move, COMMIT).
--
-- aos_move_budget_day: moves a day's counters by one run ledger's events, per scope (the day
-- '' first, then models: every statement locks the rows in that order), a scope with a cap only
-- while reserved + settled stays within it (the rule of dayLimitRefusal). Answers how many
-- scopes moved: fewer than given means a reservation did not fit and nothing must commit.
CREATE FUNCTION aos_move_budget_day(p_day_id text, p_scopes text[], p_reserved bigint[], p_settled bigint[],
                                    p_caps bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_moved integer;
BEGIN
  INSERT INTO aos_budget_days AS d (day_id, scope, reserved_micros, settled_micros, limit_micros)
  SELECT p_day_id, s.scope, s.reserved, s.settled, s.cap
    FROM unnest(p_scopes, p_reserved, p_settled, p_caps) WITH ORDINALITY AS s(scope, reserved, settled, cap, n)
   WHERE s.cap IS NULL OR s.reserved + s.settled <= s.cap
   ORDER BY s.n
  ON CONFLICT (day_id, scope) DO UPDATE
     SET reserved_micros = d.reserved_micros + EXCLUDED.reserved_micros,
         settled_micros = d.settled_micros + EXCLUDED.settled_micros,
         limit_micros = coalesce(EXCLUDED.limit_micros, d.limit_micros)
   WHERE EXCLUDED.limit_micros IS NULL
      OR d.reserved_micros + d.settled_micros + EXCLUDED.reserved_micros + EXCLUDED.settled_micros
         <= EXCLUDED.limit_micros;
  GET DIAGNOSTICS v_moved = ROW_COUNT;
  RETURN v_moved;
END;
$$;

-- aos_transition: p_fence_stream (or NULL): a shared fence on it (aos_fence), whose committed
-- version must be p_fence_version, the one the caller decided on. p_appends: a JSON array of
-- aos_append's arguments per stream ({streamId, streamType, tenantId, expected, assumedVersion,
-- assumedHash, eventIds, types, schemaVersions, data, metadata, recordedAt, hashes}), appended
-- in order; p_moves: a JSON array of {dayId, scopes, reserved, settled, caps}, moved last (the
-- day's row is locked only until the commit). Anything but the expected — the fence moved, an
-- append not 'ok' (a concurrent writer, a stale head, a batch recorded before), a move that
-- does not fit — raises, so nothing is written, and the caller does the transition again one
-- command at a time, which says exactly what happened: SQLSTATE AOS01 (fence), AOS02 (append,
-- its status in the message), AOS03 (move).
CREATE FUNCTION aos_transition(p_fence_stream text, p_fence_version bigint, p_appends jsonb, p_moves jsonb)
RETURNS TABLE (stream_id text, stream_version bigint, head_hash text, global_positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_append jsonb;
  v_move jsonb;
  v_row record;
BEGIN
  IF p_fence_stream IS NOT NULL AND aos_fence(p_fence_stream, false) <> p_fence_version THEN
    RAISE EXCEPTION 'the fence of % moved', p_fence_stream USING ERRCODE = 'AOS01';
  END IF;
  FOR v_append IN SELECT a.value FROM jsonb_array_elements(p_appends) AS a LOOP
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
    IF v_row.status <> 'ok' THEN
      RAISE EXCEPTION 'the append to % answered %', v_append->>'streamId', v_row.status USING ERRCODE = 'AOS02';
    END IF;
    stream_id := v_append->>'streamId';
    stream_version := v_row.stream_version;
    head_hash := v_row.head_hash;
    global_positions := v_row.global_positions;
    RETURN NEXT;
  END LOOP;
  FOR v_move IN SELECT m.value FROM jsonb_array_elements(p_moves) AS m LOOP
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
