-- Webhook subscriptions and their deliveries. Registrations and every delivery attempt are
-- also recorded as events (stream webhook-<id>); these tables are the dispatcher's working
-- state: who gets what, and what is due when.
CREATE TABLE aos_webhooks (
  webhook_id  uuid PRIMARY KEY,
  tenant_id   text NOT NULL,
  url         text NOT NULL,
  event_types text[] NOT NULL,
  description text,
  -- The signing secret (whsec_…): the dispatcher needs it to sign, so it is kept as is.
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
CREATE INDEX aos_webhooks_tenant ON aos_webhooks (tenant_id) WHERE deleted_at IS NULL;

-- One row per (webhook, event): the delivery id is the webhook-id header, the same on every
-- attempt, so a receiver deduplicates retries by it.
CREATE TABLE aos_webhook_deliveries (
  delivery_id     uuid PRIMARY KEY,
  webhook_id      uuid NOT NULL REFERENCES aos_webhooks (webhook_id),
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  -- Deliveries of one stream (a run) go out in its order: the oldest undelivered blocks the rest.
  stream_id       text NOT NULL,
  global_position bigint NOT NULL,
  payload         text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  last_status     integer,
  last_error      text,
  -- The first attempt: retries stop AOS_WEBHOOK_GIVE_UP_MS (24 h) after it; a redelivery
  -- clears it, starting a new window.
  window_start    timestamptz,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX aos_webhook_deliveries_due ON aos_webhook_deliveries (webhook_id, stream_id, global_position)
  WHERE status = 'pending';
CREATE INDEX aos_webhook_deliveries_list ON aos_webhook_deliveries (webhook_id, global_position DESC);
