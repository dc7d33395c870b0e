-- The log's horizon when an append lock holder's ID is not in pg_locks
-- yet (00006 made the horizon count appends only).
--
-- A transaction's ID shows in snapshots a moment before its lock on that
-- ID shows in pg_locks (PostgreSQL assigns the ID, then locks it). An
-- append lock holder without an ID in pg_locks may be in that moment, with
-- an ID in the snapshot that pg_locks cannot name: then the horizon is the
-- snapshot's xmin, the oldest ID running, as before 00006. 00006 read
-- such a holder as one without an ID yet, and its horizon could pass an
-- append's ID and let a reader skip its events.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION eventstore_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_snap    pg_snapshot := pg_current_snapshot(); -- before pg_locks is read
    v_unnamed boolean;
    v_ids     xid[];
    v_oldest  xid8;
BEGIN
    -- pg_locks once: the granted append locks, each with the ID its holder
    -- holds a lock on (its own), if any, joined by virtual transaction.
    WITH l AS MATERIALIZED (
        SELECT locktype, classid, objsubid, virtualtransaction, transactionid, granted FROM pg_locks
    )
    SELECT coalesce(bool_or(t.transactionid IS NULL), false), array_agg(t.transactionid)
      INTO v_unnamed, v_ids
      FROM l a LEFT JOIN l t ON t.virtualtransaction = a.virtualtransaction
                            AND t.locktype = 'transactionid' AND t.granted -- its own ID, not one it waits for
     WHERE a.locktype = 'advisory' AND a.classid = 1702257236 AND a.objsubid = 2 AND a.granted;
    IF v_unnamed THEN
        RETURN pg_snapshot_xmin(v_snap);
    END IF;
    SELECT min(x) INTO v_oldest FROM pg_snapshot_xip(v_snap) AS x WHERE xid(x) = ANY (v_ids);
    RETURN coalesce(v_oldest, pg_snapshot_xmax(v_snap));
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION eventstore_horizon() RETURNS xid8
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
