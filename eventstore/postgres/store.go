// Package postgres is the PostgreSQL adapter of the event store port,
// built on pgx v5. The schema and the append function are in
// migrations/sql/00001_event_store.sql.
//
// # The global log
//
// Positions come from an identity column, handed out at insert, so they do
// not follow commit order: a transaction that inserted position 7 may
// commit after one that inserted position 8. A reader that resumed "after
// 8" would skip 7. Instead every event records the inserting transaction's
// ID (pg_current_xact_id(), an xid8), and the log is read in (tx_id,
// position) order, only below the horizon: the oldest ID of a running
// transaction that appends events (eventstore_horizon, migrations 00006
// and 00007). Every append with a smaller ID has finished, so nothing can
// appear later before the point a reader has reached, and no event is
// skipped.
//
// Visibility lags commit while an older append runs: an event is in the
// log once every append that took its transaction ID before it has
// finished. Other transactions (read models, workflows, reports, in any
// database of the cluster) do not delay readers: an append must be the
// first statement of its transaction, so it takes its append lock before
// its transaction ID, and readers tell appends apart by their locks.
//
// A position that Append returned may not be readable yet, and the events
// before it in log order may still be pending: ReadAll and SubscribeAll
// after it return only what follows it.
//
// Per-stream order equals log order. Appends to a stream are serialised by
// a lock, and an append takes its transaction ID only once it holds the
// lock, after the previous append to the stream committed, so its ID is
// the newer one. The append function checks this anyway; an append whose
// ID came out older (its transaction had written before) is retried in a
// new transaction, which gets a newer ID.
//
// Subscriptions poll, and are woken early after appends: at once by
// appends through the same Store, and through LISTEN/NOTIFY by appends
// from other processes.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// NotifyChannel is the LISTEN/NOTIFY channel the store notifies after
// appends (payload: the position of the last event appended).
const NotifyChannel = "eventstore_appended"

const (
	defaultPollInterval = 200 * time.Millisecond
	defaultBatchSize    = 500
	// maxAppendAttempts bounds the retries of an append whose transaction
	// ID came out older than its stream's last append. A fresh transaction
	// gets a newer ID, so one retry almost always does.
	maxAppendAttempts = 5
)

// Observer is told about every Append: the stream, the number of events,
// how long it took and its error (nil on success; a version conflict
// matches eventstore.ErrVersionConflict). It runs on the appending
// goroutine and must be quick. Note that stream IDs are unbounded: use a
// category, not the ID, as a metric label.
type Observer func(stream string, events int, took time.Duration, err error)

// Option configures a Store.
type Option func(*Store)

// WithPollInterval sets how often a subscription looks for new events when
// no notification woke it (default 200ms). Polling is what notices events
// that became readable because an older transaction finished.
func WithPollInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.pollInterval = d
		}
	}
}

// WithBatchSize sets how many events a subscription reads per query
// (default 500).
func WithBatchSize(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.batchSize = n
		}
	}
}

// WithObserver reports every Append to o (metrics).
func WithObserver(o Observer) Option { return func(s *Store) { s.observer = o } }

// Store is the PostgreSQL event store.
type Store struct {
	pool         *pgxpool.Pool
	pollInterval time.Duration
	batchSize    int
	observer     Observer

	notifyBusy atomic.Bool  // a notification is being sent
	notifyPos  atomic.Int64 // position to notify next; 0: none due
	subsMu     sync.Mutex
	subs       map[chan struct{}]struct{} // wake-up channels of this Store's subscriptions

	// committed is the largest position known to be committed: appended
	// through this Store, or announced by another process's notification.
	// A subscription that has not read that far yet knows an event waits
	// behind an older transaction (see readLog) and looks again soon.
	committed atomic.Int64

	// appendHook, set by tests only, makes each append attempt run in an
	// explicit transaction and calls the hook in it first.
	appendHook func(ctx context.Context, tx pgx.Tx, attempt int) error
}

var _ eventstore.Store = (*Store)(nil)

// New returns a store on pool, whose database must be migrated
// (migrations.Apply).
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, pollInterval: defaultPollInterval, batchSize: defaultBatchSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

const appendSQL = `SELECT stream_version, log_position FROM eventstore_append($1, $2, $3, $4, $5, $6)`

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (res eventstore.AppendResult, err error) {
	if s.observer != nil {
		start := time.Now()
		defer func() { s.observer(stream, len(events), time.Since(start), err) }()
	}
	if err := eventstore.Validate(stream, events); err != nil {
		return res, err
	}
	ids := make([][16]byte, len(events)) // not uuid.UUID: pgx would encode those through their text form
	types := make([]string, len(events))
	data := make([][]byte, len(events))
	metas := make([][]byte, len(events))
	for i, e := range events {
		if !json.Valid(e.Data) {
			return res, fmt.Errorf("%w: event %d of stream %q: data is not valid JSON", eventstore.ErrInvalidAppend, i, stream)
		}
		meta, err := json.Marshal(e.Metadata)
		if err != nil {
			return res, fmt.Errorf("eventstore/postgres: encode metadata of event %d: %w", i, err)
		}
		ids[i], types[i], data[i], metas[i] = e.ID, e.Type, e.Data, meta
	}
	exp := int64(-1) // any
	if v, ok := expected.Version(); ok {
		// A version beyond bigint is one no stream is at: ask for the
		// largest, which conflicts the same way.
		exp = int64(min(v, math.MaxInt64))
	}

	for attempt := 1; ; attempt++ {
		var version, position int64
		err = s.appendAttempt(ctx, attempt, func(q querier) error {
			return q.QueryRow(ctx, appendSQL, stream, exp, ids, types, data, metas).Scan(&version, &position)
		})
		if err == nil {
			s.appended(position)
			return eventstore.AppendResult{Version: uint64(version), Position: uint64(position)}, nil
		}
		if retryable(err) && attempt < maxAppendAttempts && ctx.Err() == nil {
			continue
		}
		return s.appendFailed(ctx, stream, expected, ids, err)
	}
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appendAttempt runs one attempt. Normally that is a single statement in
// its own (implicit) transaction: one round trip, and a failed commit
// surfaces as the statement's error. Tests get an explicit transaction.
func (s *Store) appendAttempt(ctx context.Context, attempt int, run func(querier) error) (err error) {
	if s.appendHook == nil {
		return run(s.pool)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
			}
		}
	}()
	if err := s.appendHook(ctx, tx, attempt); err != nil {
		return err
	}
	if err := run(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// retryable reports whether a new transaction may succeed where this one
// failed: its transaction ID came out older than the stream's last
// append's (40001), or it could not see an append that held the stream's
// lock before it (a duplicate version: only under an isolation level
// above READ COMMITTED, set on the database or role).
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || (pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_version_key")
}

// appendFailed turns a failed append into the port's errors. A wrong
// expected version or an event ID already stored may be a retry of an
// append that succeeded: if all the IDs are stored, consecutively and in
// this order, in this stream, that is a no-op success. Looking this up
// only after a failure keeps it off the common path.
func (s *Store) appendFailed(ctx context.Context, stream string, expected eventstore.ExpectedVersion, ids [][16]byte, err error) (eventstore.AppendResult, error) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return eventstore.AppendResult{}, fmt.Errorf("eventstore/postgres: append to stream %q: %w", stream, err)
	}
	switch {
	case pgErr.Code == "ES409" || (pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id_key"):
		stored, lerr := s.storedAppend(ctx, stream, ids)
		if lerr != nil {
			return eventstore.AppendResult{}, fmt.Errorf("eventstore/postgres: append to stream %q: %w (and while checking for a repeated append: %w)", stream, err, lerr)
		}
		if stored.found == len(ids) && stored.invalid == "" {
			return stored.result, nil
		}
		if stored.found > 0 {
			return eventstore.AppendResult{}, fmt.Errorf("%w: stream %q: %s", eventstore.ErrInvalidAppend, stream, stored.invalid)
		}
		if pgErr.Code != "ES409" {
			// An ID was in the way, yet none is stored now: events are
			// never deleted, so this cannot happen. Say what PostgreSQL said.
			return eventstore.AppendResult{}, fmt.Errorf("%w: stream %q: %s", eventstore.ErrInvalidAppend, stream, pgErr.Message)
		}
		actual, perr := strconv.ParseUint(pgErr.Detail, 10, 64)
		if perr != nil {
			return eventstore.AppendResult{}, fmt.Errorf("eventstore/postgres: append to stream %q: conflict without a version (%q): %w", stream, pgErr.Detail, err)
		}
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
	case pgErr.Code == "ES422":
		return eventstore.AppendResult{}, fmt.Errorf("%w: stream %q: %s", eventstore.ErrInvalidAppend, stream, pgErr.Message)
	case strings.HasPrefix(pgErr.Code, "22"), pgErr.Code == "54000":
		// Data exceptions (bad UTF-8, a NUL byte, JSON that jsonb refuses)
		// and over-long keys: the input can never be stored.
		return eventstore.AppendResult{}, fmt.Errorf("%w: stream %q: %s", eventstore.ErrInvalidAppend, stream, pgErr.Message)
	}
	return eventstore.AppendResult{}, fmt.Errorf("eventstore/postgres: append to stream %q: %w", stream, err)
}

// storedEvents is what storedAppend found.
type storedEvents struct {
	found   int                     // how many of the IDs are stored
	result  eventstore.AppendResult // the last one's version and position, when they are the append
	invalid string                  // why they are not, when found > 0
}

// storedAppend looks up which of ids are stored, and whether they are the
// events of one earlier append to stream, in this order.
func (s *Store) storedAppend(ctx context.Context, stream string, ids [][16]byte) (storedEvents, error) {
	rows, err := s.pool.Query(ctx, `SELECT event_id, stream_id, version, position FROM events WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return storedEvents{}, err
	}
	type where struct {
		stream            string
		version, position int64
	}
	stored := make(map[[16]byte]where, len(ids))
	for rows.Next() {
		var id [16]byte
		var w where
		if err := rows.Scan(&id, &w.stream, &w.version, &w.position); err != nil {
			rows.Close()
			return storedEvents{}, err
		}
		stored[id] = w
	}
	if err := rows.Err(); err != nil {
		return storedEvents{}, err
	}
	out := storedEvents{found: len(stored)}
	if out.found == 0 {
		return out, nil
	}
	first, firstOK := stored[ids[0]]
	for i, raw := range ids {
		id := uuid.UUID(raw)
		w, ok := stored[raw]
		switch {
		case !ok:
			out.invalid = fmt.Sprintf("event %d (ID %s) is new but others of the append are stored already; an append is a no-op only when all its events are stored, in the same order", i, id)
		case w.stream != stream:
			out.invalid = fmt.Sprintf("event ID %s (event %d of the append) is already stored as version %d of stream %q", id, i, w.version, w.stream)
		case !firstOK || w.version != first.version+int64(i):
			out.invalid = fmt.Sprintf("event ID %s (event %d of the append) is already stored as version %d of this stream, not in the order of the append; an append is a no-op only when all its events are stored, in the same order", id, i, w.version)
		default:
			out.result = eventstore.AppendResult{Version: uint64(w.version), Position: uint64(w.position)}
			continue
		}
		return out, nil
	}
	return out, nil
}

// appended wakes subscribers after an append has committed: those of this
// Store at once, those of other processes (and other Stores) through
// PostgreSQL's NOTIFY.
//
// The NOTIFY is not part of the append's transaction, on purpose:
// PostgreSQL serialises the commits of transactions that NOTIFY (a
// database-wide lock on the notification queue, held through the commit,
// its WAL flush included), which cost 25-45% of append throughput at 8 and
// 32 writers in our measurements (cmd/storebench). It is
// sent afterwards, at most once per notifyGap: while one is being sent or
// the gap runs, further appends only mark that another is due. A lost
// notification only delays subscribers until their next poll.
func (s *Store) appended(position int64) {
	s.sawCommitted(position)
	s.wakeLocal()
	s.notifyPos.Store(position)
	if s.notifyBusy.Swap(true) {
		return // the running sender will send it
	}
	go s.sendNotifications()
}

const notifyGap = 10 * time.Millisecond

func (s *Store) sendNotifications() {
	for {
		p := s.notifyPos.Swap(0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, strconv.FormatInt(p, 10))
		cancel()
		time.Sleep(notifyGap)
		s.notifyBusy.Store(false)
		// An append that came meanwhile saw busy and left its position
		// for us: send again, unless another sender has taken over.
		if s.notifyPos.Load() == 0 || s.notifyBusy.Swap(true) {
			return
		}
	}
}

// sawCommitted raises committed to position.
func (s *Store) sawCommitted(position int64) {
	for {
		cur := s.committed.Load()
		if position <= cur || s.committed.CompareAndSwap(cur, position) {
			return
		}
	}
}

// wakeLocal wakes this Store's subscriptions.
func (s *Store) wakeLocal() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for wake := range s.subs {
		signal(wake)
	}
}

func (s *Store) register(wake chan struct{}) (unregister func()) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs == nil {
		s.subs = make(map[chan struct{}]struct{})
	}
	s.subs[wake] = struct{}{}
	return func() {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		delete(s.subs, wake)
	}
}

const selectEvent = `SELECT position, stream_id, version, event_id, type, data, metadata, recorded_at, tx_id::text AS tx_text FROM events`

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	if after >= math.MaxInt64 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, selectEvent+` WHERE stream_id = $1 AND version > $2 ORDER BY version LIMIT $3`,
		stream, int64(after), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("eventstore/postgres: read stream %q: %w", stream, err)
	}
	logged, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("eventstore/postgres: read stream %q: %w", stream, err)
	}
	out := make([]eventstore.RecordedEvent, len(logged))
	for i, l := range logged {
		out[i] = l.RecordedEvent
	}
	return out, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	from, err := s.cursorAt(ctx, after)
	if err != nil {
		return nil, err
	}
	logged, err := s.readLog(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	out := make([]eventstore.RecordedEvent, len(logged))
	for i, l := range logged {
		out[i] = l.RecordedEvent
	}
	return out, nil
}

// Head implements eventstore.Store. It is the position of the last event
// in log order that a reader can see now (the same rule as ReadAll), not
// the largest position handed out: a reader that has processed Head has
// seen the whole log as of now.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var pos int64 // 0 for an empty log
	err := queryBelowHorizon(ctx, s.pool, `SELECT position FROM events
		WHERE tx_id < `+horizonSetting+`
		ORDER BY tx_id DESC, position DESC LIMIT 1`, nil, func(rows pgx.Rows) error {
		if rows.Next() {
			return rows.Scan(&pos)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("eventstore/postgres: head: %w", err)
	}
	return uint64(pos), nil
}

// Backlog counts the events after position after in log order that a
// reader can see now (the rule of ReadAll and Head). It walks the log
// index from the position on, so it costs in proportion to the backlog,
// not the log.
func Backlog(ctx context.Context, pool *pgxpool.Pool, after eventstore.Position) (uint64, error) {
	query, args := `SELECT count(*) FROM events WHERE tx_id < `+horizonSetting, []any(nil)
	if after > 0 {
		query = `SELECT count(*) FROM events e, (SELECT tx_id, position FROM events WHERE position = $1) c
			WHERE e.tx_id < ` + horizonSetting + `
			  AND (e.tx_id, e.position) > (c.tx_id, c.position)`
		args = []any{int64(min(after, math.MaxInt64))}
	}
	var n int64
	err := queryBelowHorizon(ctx, pool, query, args, func(rows pgx.Rows) error {
		if rows.Next() {
			return rows.Scan(&n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("eventstore/postgres: count the events after position %d: %w", after, err)
	}
	return uint64(n), nil
}

// cursor is a place in the log: just after the event (tx, position).
type cursor struct {
	tx       string // xid8 as text; "0" is before every transaction
	position int64
}

var logStart = cursor{tx: "0"}

// cursorAt resolves "after position p" to a place in the log.
func (s *Store) cursorAt(ctx context.Context, p eventstore.Position) (cursor, error) {
	if p == 0 {
		return logStart, nil
	}
	if p > math.MaxInt64 {
		return cursor{}, fmt.Errorf("%w: %d", eventstore.ErrPositionNotFound, p)
	}
	c := cursor{position: int64(p)}
	err := s.pool.QueryRow(ctx, `SELECT tx_id::text FROM events WHERE position = $1`, c.position).Scan(&c.tx)
	if errors.Is(err, pgx.ErrNoRows) {
		return cursor{}, fmt.Errorf("%w: %d", eventstore.ErrPositionNotFound, p)
	}
	if err != nil {
		return cursor{}, fmt.Errorf("eventstore/postgres: look up position %d: %w", p, err)
	}
	return c, nil
}

// loggedEvent is a recorded event with its transaction ID.
type loggedEvent struct {
	eventstore.RecordedEvent
	tx string
}

// horizonSetting is the log's horizon (eventstore_horizon, an xid8) in a
// query run by queryBelowHorizon. Below it, a statement that starts after
// the horizon was found sees every event the log will ever hold there; a
// statement that started before may not.
const horizonSetting = `current_setting('eventstore.horizon')::xid8`

// queryBelowHorizon runs query, which reads the log below horizonSetting,
// and hands its rows to read, in one round trip: a transaction that finds
// the horizon, keeps it in a transaction-local setting, runs query and
// commits. It is READ COMMITTED whatever the database's default, so that
// the query takes a snapshot of its own, later than the horizon's: under
// REPEATABLE READ both statements would share the first one's, and miss
// an append that commits between that snapshot and the horizon's look at
// the locks.
func queryBelowHorizon(ctx context.Context, pool *pgxpool.Pool, query string, args []any, read func(pgx.Rows) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left in the transaction by a failure is closed, not
	// pooled.
	defer conn.Release()
	var b pgx.Batch
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY`)
	b.Queue(`SELECT set_config('eventstore.horizon', eventstore_horizon()::text, true)`)
	b.Queue(query, args...)
	b.Queue(`COMMIT`)
	br := conn.SendBatch(ctx, &b)
	for range 2 { // begin, horizon
		if err == nil {
			_, err = br.Exec()
		}
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			err = read(rows)
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if err == nil {
		_, err = br.Exec() // commit
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readLog returns the events after from, in log order, that every later
// reader will see in the same place: those below the horizon, read by a
// statement after the one that found it.
func (s *Store) readLog(ctx context.Context, from cursor, limit int) ([]loggedEvent, error) {
	var logged []loggedEvent
	err := queryBelowHorizon(ctx, s.pool, selectEvent+`
		WHERE tx_id < `+horizonSetting+`
		  AND (tx_id, position) > ($1::text::xid8, $2)
		ORDER BY events.tx_id, events.position
		LIMIT $3`, []any{from.tx, from.position, sqlLimit(limit)}, func(rows pgx.Rows) (err error) {
		logged, err = collect(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eventstore/postgres: read log: %w", err)
	}
	return logged, nil
}

func sqlLimit(limit int) *int64 {
	if limit <= 0 {
		return nil // LIMIT NULL: no limit
	}
	l := int64(limit)
	return &l
}

func collect(rows pgx.Rows) ([]loggedEvent, error) {
	var out []loggedEvent
	for rows.Next() {
		var (
			e                 loggedEvent
			position, version int64
			meta              []byte
		)
		if err := rows.Scan(&position, &e.StreamID, &version, &e.ID, &e.Type, &e.Data, &meta, &e.RecordedAt, &e.tx); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal(meta, &e.Metadata); err != nil {
			rows.Close()
			return nil, fmt.Errorf("metadata of event at position %d: %w", position, err)
		}
		e.Position, e.Version = uint64(position), uint64(version)
		e.RecordedAt = e.RecordedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// SubscribeAll implements eventstore.Store: it reads the log in batches
// from after, then waits for a notification or the poll interval and reads
// again. A transient read failure is retried a few times with backoff
// before it ends the subscription.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, fn func(context.Context, eventstore.RecordedEvent) error) error {
	from, err := s.cursorAt(ctx, after)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	wake := make(chan struct{}, 1)
	defer s.register(wake)()
	listenCtx, stopListening := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.listen(listenCtx, wake) })
	defer func() {
		stopListening()
		wg.Wait()
	}()

	ticker := time.NewTicker(s.pollInterval)
	defer ticker.Stop()
	failures := 0
	// seen is the largest position read; soon is the wait before looking
	// again for an event known to be committed but not readable yet.
	seen := int64(min(after, math.MaxInt64))
	var soon time.Duration
	for {
		batch, err := s.readLog(ctx, from, s.batchSize)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			failures++
			if failures > 5 {
				return fmt.Errorf("eventstore/postgres: subscription: %w", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(failures) * s.pollInterval):
			}
			continue
		}
		failures = 0
		for _, e := range batch {
			if err := fn(ctx, e.RecordedEvent); err != nil {
				return err
			}
			from = cursor{tx: e.tx, position: int64(e.Position)}
			seen = max(seen, int64(e.Position))
		}
		if len(batch) == s.batchSize {
			continue // more to catch up on
		}
		if s.committed.Load() > seen {
			// An append committed that the log does not show yet: an
			// older transaction is still running (readLog reads below
			// the oldest one). Its end wakes nobody, so look again soon
			// rather than at the next append or poll: after 1ms, then
			// doubling up to the poll interval.
			soon = min(max(2*soon, time.Millisecond), s.pollInterval)
			t := time.NewTimer(soon)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-wake:
				t.Stop()
			case <-t.C:
			}
			continue
		}
		soon = 0
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-ticker.C:
		}
	}
}

// listen wakes the subscription on every append notification. It uses
// its own connection, not one of the pool's, for as long as the
// subscription runs, and reconnects after failures; meanwhile polling
// carries on.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	backoff := s.pollInterval
	for {
		if listened, _ := s.listenOnce(ctx, wake); listened {
			backoff = s.pollInterval // the error only means: reconnect
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// listenOnce listens until its connection fails or ctx ends. listened
// reports whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false, err
	}
	signal(wake) // events may have come while we were not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if p, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			s.sawCommitted(p)
		}
		signal(wake)
	}
}

func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}
