package sagas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The SQL of the runtime: instances, steps, processed events and
// deadlines (migrations/sql/00004_sagas.sql). Every function runs in the
// caller's transaction. Lock order, everywhere: the processed row, then
// the instance row, then the instance's deadline rows; so an event and a
// deadline of one instance never deadlock, they take turns.

// instanceColumns are the columns the lock functions read, with the last
// step's number, kept in the row: a subquery would read the steps as of
// the statement's start, before a concurrent handling the lock waited for.
const instanceColumns = `i.saga, i.id, i.key, i.school_id, i.state, i.step, i.reason, i.data, i.started_at, i.last_seq`

// loaded is an instance as read from its row, locked.
type loaded struct {
	in      *Instance
	lastSeq int
	state   State // the state before this handling
}

func scanInstance(row pgx.Row) (loaded, bool, error) {
	var (
		in    Instance
		key   *string
		state string
		data  []byte
		seq   int
	)
	err := row.Scan(&in.saga, &in.id, &key, &in.schoolID, &state, &in.step, &in.reason, &data, &in.startedAt, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return loaded{}, false, nil
	}
	if err != nil {
		return loaded{}, false, err
	}
	if key != nil {
		in.key = *key
	}
	in.state = State(state)
	in.data = data
	return loaded{in: &in, lastSeq: seq, state: in.state}, true, nil
}

// lockInstanceByID reads and locks saga's instance id.
func lockInstanceByID(ctx context.Context, tx pgx.Tx, saga, id string) (loaded, bool, error) {
	return scanInstance(tx.QueryRow(ctx, `SELECT `+instanceColumns+` FROM saga_instances i
		WHERE i.saga = $1 AND i.id = $2 FOR UPDATE OF i`, saga, id))
}

// lockInstanceByKey reads and locks saga's unfinished instance with key.
func lockInstanceByKey(ctx context.Context, tx pgx.Tx, saga, key string) (loaded, bool, error) {
	return scanInstance(tx.QueryRow(ctx, `SELECT `+instanceColumns+` FROM saga_instances i
		WHERE i.saga = $1 AND i.key = $2 AND i.state = 'running' FOR UPDATE OF i`, saga, key))
}

// insertInstance creates a running instance; false when another
// transaction created it (same ID) or holds the key first. The insert
// waits for a concurrent creator to end, so a caller that gets false
// then finds the winner's committed row.
func insertInstance(ctx context.Context, tx pgx.Tx, saga, id, key, school string, now time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO saga_instances
		(saga, id, workflow_id, key, school_id, state, started_at, updated_at)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, 'running', $6, $6)
		ON CONFLICT DO NOTHING`, saga, id, WorkflowID(saga, id), key, school, now)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// markProcessed records that saga handled event; false when it already
// had (a redelivery). A concurrent handling of the same event makes the
// insert wait for it to end.
func markProcessed(ctx context.Context, tx pgx.Tx, saga string, event uuid.UUID, eventType string, now time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO saga_processed (saga, event_id, event_type, outcome, processed_at)
		VALUES ($1, $2, $3, 'handling', $4) ON CONFLICT DO NOTHING`, saga, event, eventType, now)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Outcomes of handling an event (stored in saga_processed, metric labels).
const (
	outcomeHandled   = "handled"   // an instance moved on
	outcomeFailed    = "failed"    // an instance failed on it (a domain error)
	outcomeIgnored   = "ignored"   // no instance concerned (or a finished one)
	outcomeDuplicate = "duplicate" // processed before
	outcomeError     = "error"     // rolled back, to be retried
)

func queueProcessedOutcome(b *pgx.Batch, saga string, event uuid.UUID, instance *string, outcome string) {
	b.Queue(`UPDATE saga_processed SET outcome = $3, instance_id = $4 WHERE saga = $1 AND event_id = $2`,
		saga, event, outcome, instance)
}

// queueWrite queues the writes of what a handling did to l's instance:
// its row, the steps it recorded, its deadline changes (all pending ones
// cancelled when it finished). fired is the deadline row being fired, if
// any, marked before the schedules so a timer may set itself again.
func queueWrite(b *pgx.Batch, l loaded, now time.Time, fired *int64) {
	in := l.in
	var data []byte
	if in.dataDirty {
		data = in.data
	}
	var finished *time.Time
	if in.state.Finished() {
		finished = &now
	}
	b.Queue(`UPDATE saga_instances SET key = NULLIF($3, ''), school_id = $4, state = $5, step = $6, reason = $7,
		data = COALESCE($8::jsonb, data), updated_at = $9, finished_at = $10, last_seq = $11
		WHERE saga = $1 AND id = $2`,
		in.saga, in.id, in.key, in.schoolID, string(in.state), in.step, in.reason, data, now, finished, l.lastSeq+len(in.steps))
	for i, s := range in.steps {
		b.Queue(`INSERT INTO saga_steps (saga, instance_id, seq, step, reason, at, event_id, trigger, command_id, stream, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			in.saga, in.id, l.lastSeq+1+i, s.Step, s.Reason, s.At, s.EventID, s.Trigger, s.Command, s.Stream, int64(s.Version))
	}
	if fired != nil {
		b.Queue(`UPDATE saga_deadlines SET fired_at = $2 WHERE id = $1`, *fired, now)
	}
	if in.state.Finished() {
		b.Queue(`UPDATE saga_deadlines SET cancelled_at = $3
			WHERE saga = $1 AND instance_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL`, in.saga, in.id, now)
		return
	}
	// Sorted: the same rows in the same order in every transaction.
	for _, name := range slices.Sorted(maps.Keys(in.cancels)) {
		b.Queue(`UPDATE saga_deadlines SET cancelled_at = $4
			WHERE saga = $1 AND instance_id = $2 AND name = $3 AND fired_at IS NULL AND cancelled_at IS NULL`,
			in.saga, in.id, name, now)
	}
	for _, name := range slices.Sorted(maps.Keys(in.schedules)) {
		s := in.schedules[name]
		var payload []byte
		if len(s.payload) > 0 {
			payload = s.payload
		}
		b.Queue(`INSERT INTO saga_deadlines (saga, instance_id, name, due_at, payload, scheduled_at)
			VALUES ($1, $2, $3, $4, $5::jsonb, $6)
			ON CONFLICT (saga, instance_id, name) WHERE fired_at IS NULL AND cancelled_at IS NULL
			DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, scheduled_at = EXCLUDED.scheduled_at,
				attempts = 0, retry_at = NULL, last_error = ''`,
			in.saga, in.id, name, dbTime(s.due), payload, now)
	}
}

// sendBatch runs a batch in tx and reports its first error.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// dueDeadline is a pending deadline row, locked.
type dueDeadline struct {
	id       int64
	saga     string
	instance string
	name     string
	due      time.Time
	payload  json.RawMessage
	attempts int
}

// nextDueInstance finds the instance of the earliest due deadline (of the
// sagas named) whose instance no other transaction holds, and locks it.
// Skipping locked instances lets replicas fire deadlines side by side and
// never fire one twice; an instance busy with an event is tried again
// later.
func nextDueInstance(ctx context.Context, tx pgx.Tx, sagas []string, now time.Time) (saga, id string, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT i.saga, i.id FROM saga_deadlines d
		JOIN saga_instances i ON i.saga = d.saga AND i.id = d.instance_id
		WHERE d.fired_at IS NULL AND d.cancelled_at IS NULL AND d.due_at <= $1
		  AND (d.retry_at IS NULL OR d.retry_at <= $1) AND d.saga = ANY($2)
		ORDER BY d.due_at, d.id LIMIT 1
		FOR UPDATE OF i SKIP LOCKED`, now, sagas).Scan(&saga, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	return saga, id, err == nil, err
}

// lockDueDeadline locks the instance's earliest due deadline (the
// instance is locked by the caller, so nobody else can fire it).
func lockDueDeadline(ctx context.Context, tx pgx.Tx, saga, id string, now time.Time) (dueDeadline, bool, error) {
	d := dueDeadline{saga: saga, instance: id}
	var payload []byte
	err := tx.QueryRow(ctx, `SELECT id, name, due_at, payload, attempts FROM saga_deadlines
		WHERE saga = $1 AND instance_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $3
		  AND (retry_at IS NULL OR retry_at <= $3)
		ORDER BY due_at, id LIMIT 1 FOR UPDATE`, saga, id, now).Scan(&d.id, &d.name, &d.due, &payload, &d.attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	d.due = d.due.UTC()
	d.payload = payload
	return d, true, nil
}

// deferDeadline records a failed attempt to fire a deadline, to be tried
// again at retry.
func deferDeadline(ctx context.Context, tx pgx.Tx, id int64, retry time.Time, cause error) error {
	_, err := tx.Exec(ctx, `UPDATE saga_deadlines SET attempts = attempts + 1, retry_at = $2, last_error = $3 WHERE id = $1`,
		id, retry, cause.Error())
	if err != nil {
		return fmt.Errorf("record the failed attempt: %w", err)
	}
	return nil
}

// dbTime is t as PostgreSQL keeps it (microseconds, UTC), so a time read
// back equals the one written: deadline triggers derive command IDs from
// their due time.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
