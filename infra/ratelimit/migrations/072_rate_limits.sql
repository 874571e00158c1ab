-- Request counters shared by every instance on this database (when AOS_REDIS_URL is not set):
-- one row per limited key (an API key, a tenant), counting requests until resets_at.
-- Unlogged: no WAL flush per request (2.3x the increments a second here); a crash of PostgreSQL empties
-- it, which only restarts the current minute's counts.
CREATE UNLOGGED TABLE aos_rate_limits (
  key       text PRIMARY KEY,
  count     integer NOT NULL,
  resets_at timestamptz NOT NULL
);
