-- Checkpoints of the log's readers: how far each one has processed the
-- event store's global log. The Kafka relay (transport/kafka, relay.go)
-- keeps its own here under its name; projections and other readers may
-- keep theirs in the same table, written in the same transaction as the
-- work they record.

-- +goose Up

-- position is the store's position of the last event processed: the
-- reader resumes with the events after it in log order (eventstore.Store
-- ReadAll/SubscribeAll). 0 is the start of the log.
CREATE TABLE checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE checkpoints;
