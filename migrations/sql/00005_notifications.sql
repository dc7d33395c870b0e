-- Notification deliveries (package notify, dispatcher.go): the e-mail and
-- webhook copies of in-app messages (message.sent.v1). The dispatcher
-- keeps one row per (message, recipient, channel), so a message delivered
-- twice by Kafka is sent once per recipient and channel; attempts, the
-- last error and the retry schedule live on the row.

-- +goose Up

-- The message as the event carried it, stored once: retries read it from
-- here, not from Kafka.
CREATE TABLE notification_messages (
    message_id  text        PRIMARY KEY,
    school_id   text        NOT NULL,
    event_id    uuid        NOT NULL,  -- the message.sent.v1 event
    sender      text        NOT NULL,  -- the sender's actor ID
    subject     text        NOT NULL,
    body        text        NOT NULL,
    category    text        NOT NULL,
    related_to  text        NOT NULL DEFAULT '',
    sent_at     timestamptz NOT NULL,  -- the event's time
    recorded_at timestamptz NOT NULL   -- when the dispatcher first saw it
);

-- status: pending (attempts left; next_attempt_at is when the next one is
-- due), sent (never attempted again), failed (rejected for good, or out of
-- attempts; never attempted again). An attempt in flight holds a lease
-- (lease_until): a dispatcher that dies mid-attempt leaves the row to be
-- taken again once the lease has passed. attempts counts the attempts
-- begun, so a crash counts as one and the total stays bounded.
CREATE TABLE notification_deliveries (
    message_id      text        NOT NULL REFERENCES notification_messages (message_id),
    recipient_kind  text        NOT NULL CHECK (recipient_kind IN ('teacher', 'guardian', 'admin')),
    recipient_id    text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('smtp', 'webhook')),
    delivery_id     uuid        NOT NULL UNIQUE, -- derived from the four above; the webhook-id
    school_id       text        NOT NULL,
    address         text        NOT NULL,        -- the e-mail address resolved when first seen
    name            text        NOT NULL DEFAULT '',
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    PRIMARY KEY (message_id, recipient_kind, recipient_id, channel),
    CONSTRAINT notification_deliveries_pending CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CONSTRAINT notification_deliveries_sent CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CONSTRAINT notification_deliveries_failed CHECK ((status = 'failed') = (failed_at IS NOT NULL))
);

-- The retry loop's scan: pending rows by due time.
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notification_deliveries_school_idx ON notification_deliveries (school_id, message_id);

-- +goose Down
DROP TABLE notification_deliveries;
DROP TABLE notification_messages;
