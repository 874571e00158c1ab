-- Each tenant's budget day as counters (domain/budget/ledger.ts DayTotals): scope '' is the
-- day, any other scope a model's share. A ledger event moves them in the same transaction as
-- it is appended (infra/executor/sql-budget-ledger.ts); a reservation only through a
-- conditional update that keeps reserved + settled within limit_micros, which is what makes
-- concurrent reservations of one tenant exact without contending on a stream. The rows are a
-- cache of the events' fold: replay and the read models fold the events themselves.
CREATE TABLE aos_budget_days (
  day_id          text   NOT NULL,
  scope           text   NOT NULL,
  reserved_micros bigint NOT NULL DEFAULT 0,
  settled_micros  bigint NOT NULL DEFAULT 0,
  -- The limit (or model cap) the latest reservation was held to; NULL: none.
  limit_micros    bigint,
  PRIMARY KEY (day_id, scope)
);

-- Days recorded before this table (one ledger stream per tenant and day): folded once from
-- their events, which stay as they were recorded.
INSERT INTO aos_budget_days (day_id, scope, reserved_micros, settled_micros)
SELECT e.stream_id, s.scope,
       sum(CASE e.type WHEN 'BudgetReserved' THEN (e.data->>'amountMicros')::bigint
                       WHEN 'BudgetSettled' THEN -(e.data->>'reservedMicros')::bigint
                       ELSE -(e.data->>'amountMicros')::bigint END),
       sum(CASE e.type WHEN 'BudgetSettled' THEN (e.data->>'actualMicros')::bigint ELSE 0 END)
  FROM aos_events e
 CROSS JOIN LATERAL (VALUES (''), (e.data->>'model')) AS s(scope)
 WHERE e.type IN ('BudgetReserved', 'BudgetSettled', 'BudgetReleased')
   AND e.stream_id LIKE 'budget-%'
   AND s.scope IS NOT NULL
 GROUP BY e.stream_id, s.scope;
