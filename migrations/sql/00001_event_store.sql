-- The event store: the system's only source of truth (DESIGN.md rule 1).
-- Written by eventstore/postgres; everything else only reads it.

-- +goose Up

-- The events. position is the global sequence number handed out at insert;
-- tx_id is the inserting transaction. The global log is read in
-- (tx_id, position) order and only below the oldest running transaction
-- (pg_snapshot_xmin), so a reader never skips an event whose transaction
-- commits late: its tx_id is then still at or above the horizon.
-- A stream's version is its last event's: there is no streams table to
-- update (and lock, and write to the WAL) on every append.
CREATE TABLE events (
    position    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id   text        NOT NULL,
    version     bigint      NOT NULL CHECK (version > 0),
    event_id    uuid        NOT NULL,
    type        text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    school_id   text        NOT NULL, -- metadata->>'schoolId', for tenant reads
    recorded_at timestamptz NOT NULL DEFAULT now(),
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

CREATE INDEX events_log_idx ON events (tx_id, position);
CREATE INDEX events_school_log_idx ON events (school_id, tx_id, position);

-- eventstore_append appends events to a stream in one statement (and so,
-- called on its own, in one transaction and one round trip).
--
-- p_expected: -1 any version, 0 no stream yet, n exactly version n.
-- Returns the stream's version after the append and the position of the
-- last event. Failures are raised with these SQLSTATEs:
--   ES409  wrong expected version; DETAIL is the stream's actual version
--   ES422  malformed arguments
--   23505  on events_event_id_key: an event ID is already stored
--   40001  this transaction's ID is older than the stream's last event's
--          (it took its ID before it waited for the stream); per-stream
--          order must match log order, so retry in a new transaction,
--          which gets a newer ID.
-- Idempotent re-appends (the same event IDs again) are recognised by the
-- caller from ES409 or 23505: see eventstore/postgres.
--
-- Appends to one stream are serialised by a transaction-scoped advisory
-- lock on the stream name's hash (namespaced by the first key; a hash
-- collision only serialises two streams). The lock takes no transaction
-- ID, so the ID is taken by the insert, after the previous append to the
-- stream has committed, and is newer than that append's: the 40001 check
-- only fires for a caller's transaction that wrote something before.
-- +goose StatementBegin
CREATE FUNCTION eventstore_append(
    p_stream   text,
    p_expected bigint,
    p_ids      uuid[],
    p_types    text[],
    p_data     jsonb[],
    p_metadata jsonb[],
    OUT stream_version bigint,
    OUT log_position   bigint
) LANGUAGE plpgsql
-- Every statement here is a key lookup. plpgsql caches its plans, and a
-- plan made while the table was small (a fresh database) would scan it
-- whole for as long as the session lives.
SET enable_seqscan = off
AS $$
DECLARE
    n         int := coalesce(cardinality(p_ids), 0);
    v_current bigint;
    v_tx      xid8;
BEGIN
    IF n = 0 OR coalesce(cardinality(p_types), 0) <> n OR coalesce(cardinality(p_data), 0) <> n
       OR coalesce(cardinality(p_metadata), 0) <> n THEN
        RAISE EXCEPTION USING ERRCODE = 'ES422',
            MESSAGE = 'eventstore_append: ids, types, data and metadata must be non-empty arrays of one length';
    END IF;

    PERFORM pg_advisory_xact_lock(1702257236, hashtext(p_stream)); -- 1702257236: "eventstore" appends

    -- A new snapshot (this is a volatile function in READ COMMITTED): it
    -- sees the appends that held the lock before us.
    SELECT e.version, e.tx_id INTO v_current, v_tx
      FROM events e WHERE e.stream_id = p_stream
     ORDER BY e.version DESC LIMIT 1;
    IF NOT FOUND THEN
        v_current := 0;
    END IF;

    IF p_expected >= 0 AND p_expected <> v_current THEN
        RAISE EXCEPTION USING ERRCODE = 'ES409',
            MESSAGE = format('stream %L expected at version %s, is at version %s', p_stream, p_expected, v_current),
            DETAIL = v_current::text;
    END IF;

    IF v_tx IS NOT NULL AND pg_current_xact_id() < v_tx THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = format('transaction %s is older than the last append to stream %L (%s); retry in a new transaction',
                             pg_current_xact_id(), p_stream, v_tx);
    END IF;

    WITH inserted AS (
        INSERT INTO events (stream_id, version, event_id, type, data, metadata, school_id)
        SELECT p_stream, v_current + u.ord, u.id, u.type, u.data, u.metadata, u.metadata->>'schoolId'
          FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, type, data, metadata, ord)
         ORDER BY u.ord
        RETURNING events.position
    )
    SELECT max(inserted.position) INTO log_position FROM inserted;
    stream_version := v_current + n;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION eventstore_append(text, bigint, uuid[], text[], jsonb[], jsonb[]);
DROP TABLE events;
