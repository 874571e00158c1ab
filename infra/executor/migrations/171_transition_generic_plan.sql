-- A step transition's functions plan their statements once per session, as aos_append does
-- (migration 160, which says why): under plan_cache_mode 'auto' plpgsql may replan a statement
-- with each call's values, and these are called once or more per step of every run. Each
-- statement is a call with its arguments unpacked from JSON, a lock on one key, or an upsert
-- of an unnest of the arguments by its primary key: the generic plan is the custom one.
ALTER FUNCTION aos_transition(text, bigint, jsonb, jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION aos_move_budget_day(text, text[], bigint[], bigint[], bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION aos_fence(text, boolean) SET plan_cache_mode = force_generic_plan;
