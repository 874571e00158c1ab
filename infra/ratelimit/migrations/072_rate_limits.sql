-- Request counters shared by every instance on this database (when AOS_REDIS_URL is not set):
-- one row per limited key (an API key, a tenant), counting requests until resets_at.
CREATE TABLE aos_rate_limits (
  key       text PRIMARY KEY,
  count     integer NOT NULL,
  resets_at timestamptz NOT NULL
);
