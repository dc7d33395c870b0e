-- Idempotency keys of HTTP commands (transport/http, idempotency.go):
-- a retry with the same Idempotency-Key and the same request gets the
-- first response again and runs nothing.

-- +goose Up

-- One row per (school, caller, key). A row is pending (status_code NULL)
-- while its request runs, then holds the response. Pending rows whose
-- request failed with a 5xx or a 409 are deleted so the caller can retry;
-- a pending row older than the lock timeout (a crashed request) may be
-- taken over by a retry of the same request.
CREATE TABLE idempotency_keys (
    school_id        text        NOT NULL, -- '' for requests outside a school (POST /v1/schools)
    actor_id         text        NOT NULL, -- the token's subject
    idempotency_key  text        NOT NULL,
    command          text        NOT NULL, -- the command's name, for operators
    fingerprint      bytea       NOT NULL, -- SHA-256 of method, path, query, If-Match and body
    status_code      integer,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL,
    locked_at        timestamptz NOT NULL,
    completed_at     timestamptz,
    PRIMARY KEY (school_id, actor_id, idempotency_key),
    CONSTRAINT idempotency_keys_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_completed CHECK ((status_code IS NULL) = (completed_at IS NULL))
);

-- Keys are kept at least 24 hours; the cleanup deletes by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
