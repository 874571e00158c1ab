-- The Kafka projection consumer's deduplication: per stream, the last event it applied to
-- the read models. A message whose stream position is not past it is a re-delivery (the
-- publisher is at-least-once, and a rebalance re-reads uncommitted offsets) and is skipped.
CREATE TABLE aos_kafka_applied (
  stream_id       text PRIMARY KEY,
  stream_position bigint NOT NULL,
  event_id        uuid,
  global_position bigint,
  applied_at      timestamptz NOT NULL DEFAULT now()
);
