-- aos_append plans its statements once per session (a generic plan) instead of at every call.
-- Under plan_cache_mode 'auto', plpgsql replans a statement with the call's values (a custom
-- plan) whenever the generic plan's estimate is worse than the custom ones' — and the fast
-- path's CTE, whose branches the values decide, always looked worse: every append paid for
-- planning it, ~4 times the cost of running it (1 event: 350–500 µs of planning against ~90 µs
-- of work on the bench machine; PGlite likewise). Each statement is an equality probe of a
-- unique index or an unnest of the arguments, so its generic plan is the custom one without
-- the constant folding (the id probes stay index probes: 002's LATERAL … OFFSET 0).
ALTER FUNCTION aos_append(text, text, text, text, bigint, text, uuid[], text[], integer[], jsonb[], jsonb[],
                          timestamptz, text[], boolean)
  SET plan_cache_mode = force_generic_plan;
