-- The log's horizon: how far the global log can be read without skipping
-- an event whose transaction commits late (eventstore/postgres).
--
-- 00001 bounded readers by the oldest transaction running in the cluster
-- (pg_snapshot_xmin). Any transaction holding an ID counted, in any
-- database: a projection's, a workflow's, a report's. Each delayed the
-- relay, and so every read model, for as long as it ran. Only
-- transactions that append events can put an event behind a reader, so
-- the horizon now counts those alone.
--
-- How a reader tells them apart: an append holds its stream's advisory
-- lock (key 1702257236) from before its transaction takes an ID until
-- after its commit is visible (PostgreSQL releases locks after it marks
-- the transaction committed). eventstore_append refuses to run in a
-- transaction that already has an ID, which makes the first half true.

-- +goose Up

-- eventstore_horizon returns the oldest ID, among the transactions running
-- now, of one that holds an append lock; else the next ID to be assigned.
-- Every event of a transaction with a smaller ID is committed (or never
-- will be), provided the events are read in a later statement than this
-- one: a transaction that was running when the snapshot below was taken
-- and has released its lock by the time pg_locks is read has committed
-- before that later statement starts, so its events are visible there.
--
-- Transactions that take their ID after the snapshot get one at or above
-- its xmax, the horizon's upper bound.
-- +goose StatementBegin
CREATE FUNCTION eventstore_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_snap   pg_snapshot := pg_current_snapshot(); -- before pg_locks is read
    v_oldest xid8;
BEGIN
    -- pg_locks once: the advisory locks and the transaction IDs of their
    -- holders, joined by virtual transaction.
    WITH l AS MATERIALIZED (
        SELECT locktype, classid, objsubid, virtualtransaction, transactionid, granted FROM pg_locks
    )
    SELECT min(x) INTO v_oldest
      FROM pg_snapshot_xip(v_snap) AS x
     WHERE xid(x) IN (SELECT t.transactionid
                        FROM l a JOIN l t ON t.virtualtransaction = a.virtualtransaction
                       WHERE a.locktype = 'advisory' AND a.classid = 1702257236 AND a.objsubid = 2
                         AND t.locktype = 'transactionid' AND t.granted); -- its own ID, not one it waits for
    RETURN coalesce(v_oldest, pg_snapshot_xmax(v_snap));
END;
$$;
-- +goose StatementEnd

-- eventstore_append as in 00001, but refused (40001, retry in a new
-- transaction) in a transaction that has written before, so that it holds
-- its append lock from before it takes its ID. The SQL interface's callers
-- call it as a statement of its own; nothing changes for them.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION eventstore_append(
    p_stream   text,
    p_expected bigint,
    p_ids      uuid[],
    p_types    text[],
    p_data     jsonb[],
    p_metadata jsonb[],
    OUT stream_version bigint,
    OUT log_position   bigint
) LANGUAGE plpgsql
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

    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = format('transaction %s wrote before it appended to stream %L: an append must come first in its transaction, so that readers of the log see it (see eventstore_horizon); retry in a new transaction',
                             pg_current_xact_id_if_assigned(), p_stream);
    END IF;

    PERFORM pg_advisory_xact_lock(1702257236, hashtext(p_stream)); -- 1702257236: "eventstore" appends

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

    -- Cannot fire since the check above (the ID is taken below, after the
    -- lock); kept as the per-stream order's own guard.
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION eventstore_append(
    p_stream   text,
    p_expected bigint,
    p_ids      uuid[],
    p_types    text[],
    p_data     jsonb[],
    p_metadata jsonb[],
    OUT stream_version bigint,
    OUT log_position   bigint
) LANGUAGE plpgsql
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

    PERFORM pg_advisory_xact_lock(1702257236, hashtext(p_stream));

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
DROP FUNCTION eventstore_horizon();
