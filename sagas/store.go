package sagas

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The SQL of the runtime: instances, steps, processed events and
// deadlines (migrations/sql/00004_sagas.sql). Every function runs in the
// caller's transaction, or queues its statement on the caller's batch
// (queue…), to be sent with others in one round trip.
//
// Locks. A handling (of an event or a deadline) serialises with the
// others through transaction-scoped advisory locks, taken in this order:
// the event's (so two deliveries of one event take turns, and the second
// finds the first's processed row), the route's key (so two events that
// would start an instance by one key take turns), the instance's. Every
// write to an instance, its steps and its deadlines happens under the
// instance's lock, in the batch that commits the handling; a handling
// writes nothing before. So its transaction takes no transaction ID while
// the saga reads and issues commands, and does not hold back the event
// store's log, which readers (the relay) follow only below the oldest
// running transaction ID: an event appended meanwhile, by this saga's
// commands or anyone's, is published at once, not when the slowest saga
// handling of the moment commits. A hash collision of two keys only
// makes their handlings take turns.

// Advisory lock namespaces, the first key of the two-int form (namespace,
// hashtext("<saga name>/<what is locked>"); saga names have no "/").
const (
	lockSagaEvent    int32 = 1935763297 // an event, by ID
	lockSagaKey      int32 = 1935763298 // an instance key (Route.Key)
	lockSagaInstance int32 = 1935763299 // an instance, by business ID
)

const (
	sqlLock    = `SELECT pg_advisory_xact_lock($1, hashtext($2 || '/' || $3))`
	sqlTryLock = `SELECT pg_try_advisory_xact_lock($1, hashtext($2 || '/' || $3))`
)

// queueLock queues the wait for saga's lock of what in namespace ns.
func queueLock(b *pgx.Batch, ns int32, saga, what string) {
	b.Queue(sqlLock, ns, saga, what)
}

// tryLockInstance takes saga's lock of instance id if nobody holds it.
func tryLockInstance(ctx context.Context, q querier, saga, id string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, sqlTryLock, lockSagaInstance, saga, id).Scan(&ok)
	return ok, err
}

// querier is what the functions here read rows through: the connection
// of a txConn (or a pgx.Tx).
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// instanceColumns are the columns an instance is read with, with the last
// step's number, kept in the row.
const instanceColumns = `i.saga, i.id, i.key, i.school_id, i.state, i.step, i.reason, i.data, i.started_at, i.last_seq`

// loaded is an instance as read from its row (or, for one this handling
// starts, as it begins).
type loaded struct {
	in      *Instance
	lastSeq int
	state   State  // the state before this handling
	key     string // the key of the row before this handling
	created bool   // started by this handling: its row is inserted at commit
	// keyLocked is the key whose lock this handling holds, if any: a key
	// the instance takes is locked before it is written.
	keyLocked string
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
	return loaded{in: &in, lastSeq: seq, state: in.state, key: in.key}, true, nil
}

// newInstance is the instance a handling starts, written at its commit.
func newInstance(saga, id, key, school string, now time.Time) loaded {
	in := &Instance{saga: saga, id: id, key: key, schoolID: school, state: StateRunning, startedAt: now, isNew: true}
	return loaded{in: in, state: StateRunning, created: true}
}

const (
	sqlInstanceByID = `SELECT ` + instanceColumns + ` FROM saga_instances i
		WHERE i.saga = $1 AND i.id = $2`
	sqlInstanceByKey = `SELECT ` + instanceColumns + ` FROM saga_instances i
		WHERE i.saga = $1 AND i.key = $2 AND i.state = 'running'`
)

// instanceByID reads saga's instance id (its lock is the caller's).
func instanceByID(ctx context.Context, q querier, saga, id string) (loaded, bool, error) {
	return scanInstance(q.QueryRow(ctx, sqlInstanceByID, saga, id))
}

// instanceByKey reads saga's unfinished instance with key.
func instanceByKey(ctx context.Context, q querier, saga, key string) (loaded, bool, error) {
	return scanInstance(q.QueryRow(ctx, sqlInstanceByKey, saga, key))
}

// readResult receives what a queued read of an instance found.
type readResult struct {
	l     loaded
	found bool
}

// queueReadInstance queues instanceByID (byID) or instanceByKey; res is
// set when the batch's results are read.
func queueReadInstance(b *pgx.Batch, saga string, byID bool, idOrKey string, res *readResult) {
	sql := sqlInstanceByKey
	if byID {
		sql = sqlInstanceByID
	}
	b.Queue(sql, saga, idOrKey).QueryRow(func(row pgx.Row) (err error) {
		res.l, res.found, err = scanInstance(row)
		return err
	})
}

// queueProcessedBefore queues the check whether saga has processed event
// (a redelivery); seen is set when the batch's results are read.
func queueProcessedBefore(b *pgx.Batch, saga string, event uuid.UUID, seen *bool) {
	b.Queue(`SELECT EXISTS (SELECT 1 FROM saga_processed WHERE saga = $1 AND event_id = $2)`, saga, event).
		QueryRow(func(row pgx.Row) error { return row.Scan(seen) })
}

// Outcomes of handling an event (stored in saga_processed, metric labels).
const (
	outcomeHandled   = "handled"   // an instance moved on
	outcomeFailed    = "failed"    // an instance failed on it (a domain error)
	outcomeIgnored   = "ignored"   // no instance concerned (or a finished one)
	outcomeDuplicate = "duplicate" // processed before
	outcomeError     = "error"     // rolled back, to be retried
)

// queueProcessed queues the record that saga processed event, with its
// outcome and the instance concerned (nil: none).
func queueProcessed(b *pgx.Batch, saga string, t Trigger, instance *string, outcome string, now time.Time) {
	b.Queue(`INSERT INTO saga_processed (saga, event_id, event_type, outcome, instance_id, processed_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, saga, t.ID, t.Type, outcome, instance, now)
}

// queueWrite queues the writes of what a handling did to l's instance:
// its row (inserted, for an instance the handling started), the steps it
// recorded, its deadline changes (all pending ones cancelled when it
// finished). fired is the deadline row being fired, if any, marked before
// the schedules so a timer may set itself again.
func queueWrite(b *pgx.Batch, l loaded, now time.Time, fired *int64) {
	in := l.in
	if in.key != "" && in.key != l.keyLocked && in.key != l.key && !in.state.Finished() {
		// The instance takes a key it did not have: its lock first, as
		// every instance starting with it holds it.
		queueLock(b, lockSagaKey, in.saga, in.key)
	}
	var data []byte
	if in.dataDirty {
		data = in.data
	}
	var finished *time.Time
	if in.state.Finished() {
		finished = &now
	}
	if l.created {
		b.Queue(`INSERT INTO saga_instances
			(saga, id, workflow_id, key, school_id, state, step, reason, data, started_at, updated_at, finished_at, last_seq)
			VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8, $9::jsonb, $10, $10, $11, $12)`,
			in.saga, in.id, WorkflowID(in.saga, in.id), in.key, in.schoolID, string(in.state), in.step, in.reason, data,
			now, finished, len(in.steps))
	} else {
		b.Queue(`UPDATE saga_instances SET key = NULLIF($3, ''), school_id = $4, state = $5, step = $6, reason = $7,
			data = COALESCE($8::jsonb, data), updated_at = $9, finished_at = $10, last_seq = $11
			WHERE saga = $1 AND id = $2`,
			in.saga, in.id, in.key, in.schoolID, string(in.state), in.step, in.reason, data, now, finished, l.lastSeq+len(in.steps))
	}
	if len(in.steps) > 0 {
		// One statement for all the steps of the handling.
		var c stepColumns
		for i, s := range in.steps {
			c.add(l.lastSeq+1+i, s)
		}
		b.Queue(`INSERT INTO saga_steps (saga, instance_id, seq, step, reason, at, event_id, trigger, command_id, stream, version)
			SELECT $1, $2, u.* FROM unnest($3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::bigint[]) AS u`,
			in.saga, in.id, c.seq, c.step, c.reason, c.at, c.event, c.trigger, c.command, c.stream, c.version)
	}
	if fired != nil {
		b.Queue(`UPDATE saga_deadlines SET fired_at = $2 WHERE id = $1`, *fired, now)
	}
	if in.state.Finished() {
		// An instance started by this very handling has no deadline rows
		// yet (its schedules are written below, and a finished one writes
		// none): nothing to cancel.
		if !l.created {
			b.Queue(`UPDATE saga_deadlines SET cancelled_at = $3
				WHERE saga = $1 AND instance_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL`, in.saga, in.id, now)
		}
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

// stepColumns are steps as the columns of saga_steps, to insert them all
// from arrays in one statement.
type stepColumns struct {
	seq                                           []int32
	step, reason, event, trigger, command, stream []string
	at                                            []time.Time
	version                                       []int64
}

func (c *stepColumns) add(seq int, s StepRecord) {
	c.seq = append(c.seq, int32(seq))
	c.step, c.reason, c.at = append(c.step, s.Step), append(c.reason, s.Reason), append(c.at, s.At)
	c.event, c.trigger, c.command = append(c.event, s.EventID), append(c.trigger, s.Trigger), append(c.command, s.Command)
	c.stream, c.version = append(c.stream, s.Stream), append(c.version, int64(s.Version))
}

// pendingDeadline is a pending deadline row, read under its instance's
// lock.
type pendingDeadline struct {
	id       int64
	saga     string
	instance string
	name     string
	due      time.Time
	payload  json.RawMessage
	attempts int
}

// queueDueInstances queues the listing of the instances of the earliest
// due deadlines (of the sagas named, due by now), at most limit, in due
// order (an instance may come more than once), into due. The caller takes
// the first whose lock nobody holds: replicas fire deadlines side by side
// and never one twice, and an instance busy with an event is tried again
// later.
func queueDueInstances(b *pgx.Batch, sagas []string, now time.Time, limit int, due *[][2]string) {
	b.Queue(`SELECT saga, instance_id FROM saga_deadlines
		WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1
		  AND (retry_at IS NULL OR retry_at <= $1) AND saga = ANY($2)
		ORDER BY due_at, id LIMIT $3`, now, sagas, limit).Query(func(rows pgx.Rows) (err error) {
		*due, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) ([2]string, error) {
			var si [2]string
			err := row.Scan(&si[0], &si[1])
			return si, err
		})
		return err
	})
}

// dueDeadline reads the instance's earliest due deadline (the instance's
// lock is the caller's, so nobody else can fire it).
func dueDeadline(ctx context.Context, q querier, saga, id string, now time.Time) (pendingDeadline, bool, error) {
	d := pendingDeadline{saga: saga, instance: id}
	var payload []byte
	err := q.QueryRow(ctx, `SELECT id, name, due_at, payload, attempts FROM saga_deadlines
		WHERE saga = $1 AND instance_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $3
		  AND (retry_at IS NULL OR retry_at <= $3)
		ORDER BY due_at, id LIMIT 1`, saga, id, now).Scan(&d.id, &d.name, &d.due, &payload, &d.attempts)
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

// queueDeferDeadline queues the record of a failed attempt to fire a
// deadline, to be tried again at retry.
func queueDeferDeadline(b *pgx.Batch, id int64, retry time.Time, cause error) {
	b.Queue(`UPDATE saga_deadlines SET attempts = attempts + 1, retry_at = $2, last_error = $3 WHERE id = $1`,
		id, retry, cause.Error())
}

// dbTime is t as PostgreSQL keeps it (microseconds, UTC), so a time read
// back equals the one written: deadline triggers derive command IDs from
// their due time.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
