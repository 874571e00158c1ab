-- Named leases: one holder at a time for work only one instance may do (the Kafka publisher,
-- the webhook dispatcher). A holder renews before expires_at; past it, anyone may take it.
-- Times are the database's (now()), so instances' clocks never have to agree.
CREATE TABLE aos_leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
