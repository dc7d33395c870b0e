package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/eventstore/storetest"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

// These tests hold transactions open. Transaction IDs are cluster-wide, so
// an open transaction holds back every database's log: they do not run in
// parallel with each other or with the contract suite.

func newEvent(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.New(),
		Type:     "test.happened.v1",
		Data:     fmt.Appendf(nil, `{"n":%d}`, n),
		Metadata: eventstore.Metadata{SchoolID: "school-1", ActorID: "tester"},
	}
}

func appendOne(t *testing.T, s *postgres.Store, stream string) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, eventstore.Any(), []eventstore.EventData{newEvent(1)})
	if err != nil {
		t.Fatalf("Append(%s): %v", stream, err)
	}
	return res
}

// appendInTx calls the append function in tx, as the store does, and
// leaves the transaction open.
func appendInTx(t *testing.T, tx pgx.Tx, stream string) int64 {
	t.Helper()
	var version, position int64
	err := tx.QueryRow(context.Background(),
		`SELECT stream_version, log_position FROM eventstore_append($1, -1, $2, $3, $4, $5)`,
		stream, []uuid.UUID{uuid.New()}, []string{"test.happened.v1"}, []string{`{"held":true}`},
		[]string{`{"schoolId":"school-1","actorId":"tester"}`}).Scan(&version, &position)
	if err != nil {
		t.Fatalf("eventstore_append in a transaction: %v", err)
	}
	return position
}

func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func positions(evs []eventstore.RecordedEvent) []eventstore.Position {
	var out []eventstore.Position
	for _, e := range evs {
		out = append(out, e.Position)
	}
	return out
}

func readAll(t *testing.T, s *postgres.Store, after eventstore.Position) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadAll(context.Background(), after, 0)
	if err != nil {
		t.Fatalf("ReadAll(%d): %v", after, err)
	}
	return evs
}

// collector subscribes from 0 and records what it gets.
type collector struct {
	mu  sync.Mutex
	got []eventstore.Position
}

func (c *collector) positions() []eventstore.Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]eventstore.Position(nil), c.got...)
}

func collect(t *testing.T, s *postgres.Store) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(ctx, 0, func(_ context.Context, e eventstore.RecordedEvent) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.got = append(c.got, e.Position)
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("SubscribeAll: %v", err)
		}
	})
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogWaitsForEarlierTransaction commits appends out of order: the
// event with the smaller position commits last. A reader that went by
// position alone would read the later event, resume after it and never see
// the earlier one. Ours shows neither until both are committed, then both
// in transaction order.
func TestLogWaitsForEarlierTransaction(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool, postgres.WithPollInterval(20*time.Millisecond))
	seed := appendOne(t, s, "seed")
	eventually(t, "the seed event", func() bool { return len(readAll(t, s, 0)) == 1 })
	sub := collect(t, s)
	eventually(t, "the subscriber to catch up", func() bool { return len(sub.positions()) == 1 })

	held := begin(t, pool)
	heldPos := appendInTx(t, held, "held")
	later := appendOne(t, s, "later")
	if later.Position <= uint64(heldPos) {
		t.Fatalf("positions: held %d, later %d; the test needs held < later", heldPos, later.Position)
	}

	time.Sleep(200 * time.Millisecond) // ten poll intervals
	if got := positions(readAll(t, s, 0)); !reflect.DeepEqual(got, []eventstore.Position{seed.Position}) {
		t.Fatalf("while an earlier append is open the log shows %v, want only the seed %d", got, seed.Position)
	}
	if got := positions(readAll(t, s, seed.Position)); len(got) != 0 {
		t.Fatalf("after the seed, while an earlier append is open: %v", got)
	}
	if head, err := s.Head(context.Background()); err != nil || head != seed.Position {
		t.Fatalf("Head = %d, %v; want the seed %d", head, err, seed.Position)
	}
	if got := sub.positions(); len(got) != 1 {
		t.Fatalf("subscriber got %v while an earlier append is open", got)
	}

	if err := held.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []eventstore.Position{seed.Position, uint64(heldPos), later.Position}
	eventually(t, "both events in the log", func() bool { return len(readAll(t, s, 0)) == 3 })
	if got := positions(readAll(t, s, 0)); !reflect.DeepEqual(got, want) {
		t.Fatalf("log %v, want %v", got, want)
	}
	eventually(t, "the subscriber to get both", func() bool { return len(sub.positions()) == 3 })
	if got := sub.positions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("subscriber got %v, want %v", got, want)
	}
}

// TestSubscriberNoticesHorizonMove: an append notifies at its commit, but
// its event is readable only once an older append ends, which, rolled
// back, notifies nobody. Polling must pick it up.
func TestSubscriberNoticesHorizonMove(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool, postgres.WithPollInterval(30*time.Millisecond))
	sub := collect(t, s)

	older := begin(t, pool)
	appendInTx(t, older, "older")
	res := appendOne(t, s, "s")
	time.Sleep(150 * time.Millisecond)
	if got := sub.positions(); len(got) != 0 {
		t.Fatalf("subscriber got %v below an open older append", got)
	}
	if err := older.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event after the horizon moved", func() bool { return len(sub.positions()) == 1 })
	if got := sub.positions(); got[0] != res.Position {
		t.Fatalf("got %v, want %d", got, res.Position)
	}
}

// TestOtherTransactionsDoNotHoldTheLogBack: a transaction that holds an ID
// but appends nothing (a read model's, a workflow's, another database's)
// cannot put an event behind a reader, so readers do not wait for it.
func TestOtherTransactionsDoNotHoldTheLogBack(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool)
	other := begin(t, pool)
	if _, err := other.Exec(context.Background(), "SELECT pg_current_xact_id()"); err != nil { // takes a transaction ID
		t.Fatal(err)
	}
	res := appendOne(t, s, "s")
	if got := positions(readAll(t, s, 0)); !reflect.DeepEqual(got, []eventstore.Position{res.Position}) {
		t.Fatalf("beside an open transaction that appends nothing the log shows %v, want %d", got, res.Position)
	}
	if head, err := s.Head(context.Background()); err != nil || head != res.Position {
		t.Fatalf("Head = %d, %v; want %d", head, err, res.Position)
	}
}

// TestAnAppendLockWithoutItsIDHoldsTheLogBack: a transaction's ID shows in
// snapshots a moment before pg_locks shows its lock on it, so an append
// lock holder whose ID pg_locks does not name may have one older than an
// event already committed. The horizon then falls back to the oldest
// transaction running, whatever it does; once no such holder is left, only
// appends count again.
func TestAnAppendLockWithoutItsIDHoldsTheLogBack(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool)
	other := begin(t, pool)
	if _, err := other.Exec(context.Background(), "SELECT pg_current_xact_id()"); err != nil { // older, appends nothing
		t.Fatal(err)
	}
	holder := begin(t, pool)
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_xact_lock(1702257236, hashtext('held'))"); err != nil {
		t.Fatal(err)
	}
	res := appendOne(t, s, "s")
	if got := readAll(t, s, 0); len(got) != 0 {
		t.Fatalf("while an append lock holder has no ID in pg_locks the log shows %v", positions(got))
	}
	if err := holder.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := positions(readAll(t, s, 0)); !reflect.DeepEqual(got, []eventstore.Position{res.Position}) {
		t.Fatalf("after the holder ended the log shows %v, want %d", got, res.Position)
	}
}

// TestAppendMustComeFirstInItsTransaction: readers tell appends apart by
// the lock an append takes before its transaction ID; an append in a
// transaction that already has an ID could hide behind a reader, so it is
// refused, retryable, and writes nothing.
func TestAppendMustComeFirstInItsTransaction(t *testing.T) {
	pool := pgtest.NewPool(t)
	tx := begin(t, pool)
	if _, err := tx.Exec(context.Background(), "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	_, err := tx.Exec(context.Background(), `SELECT eventstore_append('s', -1, $1, $2, $3, $4)`,
		[]uuid.UUID{uuid.New()}, []string{"test.happened.v1"}, []string{`{}`}, []string{`{"schoolId":"school-1"}`})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" || !strings.Contains(pgErr.Message, "must come first in its transaction") {
		t.Fatalf("append after a write: %v; want 40001 saying it must come first", err)
	}
	_ = tx.Rollback(context.Background())
	if got := readAll(t, postgres.New(pool), 0); len(got) != 0 {
		t.Fatalf("the refused append left %d events", len(got))
	}
}

// TestLogNeverSkipsBesideOtherWriters is the contract's never-skips test
// with other transactions writing all along, as read models and workflows
// do: they move PostgreSQL's own horizon about, the log's must not follow.
// Half the appends call the append function in a transaction that commits
// a little later, which opens the window a reader could skip through.
func TestLogNeverSkipsBesideOtherWriters(t *testing.T) {
	ctx := t.Context()
	cfg := pgtest.NewPool(t).Config() // a migrated database
	cfg.MaxConns = 16                 // the writers, the side writers and the readers each have one
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE side_writes (n bigint)`); err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	noiseErrs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO side_writes VALUES ($1)`, i); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `SELECT pg_sleep($1)`, float64(i%4)/1000)
					return err
				})
				if err != nil {
					noiseErrs <- err
					return
				}
			}
		})
	}

	var calls atomic.Int64
	storetest.LogNeverSkips(t, s, func(ctx context.Context, stream string, evs []eventstore.EventData) error {
		n := calls.Add(1)
		if n%2 == 0 {
			_, err := s.Append(ctx, stream, eventstore.Any(), evs)
			return err
		}
		ids, types, data, metas := make([]uuid.UUID, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
		for i, e := range evs {
			meta, err := json.Marshal(e.Metadata)
			if err != nil {
				return err
			}
			ids[i], types[i], data[i], metas[i] = e.ID, e.Type, string(e.Data), string(meta)
		}
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT eventstore_append($1, -1, $2, $3, $4, $5)`, stream, ids, types, data, metas)
			time.Sleep(time.Duration(1+n%4) * time.Millisecond)
			return err
		})
	})
	close(stop)
	wg.Wait()
	close(noiseErrs)
	for err := range noiseErrs {
		t.Fatalf("side writes: %v", err)
	}
}

// TestSubscriberLooksAgainSoonForACommittedEvent: as above, but with a
// poll interval far beyond the test's patience. The subscriber knows the
// append committed (it went through its Store) and, not seeing it, looks
// again soon on its own: the event is not left to the next append or poll.
func TestSubscriberLooksAgainSoonForACommittedEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool, postgres.WithPollInterval(time.Hour))
	sub := collect(t, s)
	time.Sleep(100 * time.Millisecond) // let it read the empty log

	older := begin(t, pool)
	appendInTx(t, older, "older")
	res := appendOne(t, s, "s")
	time.Sleep(100 * time.Millisecond)
	if got := sub.positions(); len(got) != 0 {
		t.Fatalf("subscriber got %v below an open older append", got)
	}
	if err := older.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event after the horizon moved, with no poll due", func() bool { return len(sub.positions()) == 1 })
	if got := sub.positions(); got[0] != res.Position {
		t.Fatalf("got %v, want %d", got, res.Position)
	}
}

// TestNotificationWakesSubscriber: with a poll interval far beyond the
// test's patience, only PostgreSQL's notification can deliver in time an
// event appended through another Store (as by another process).
func TestNotificationWakesSubscriber(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.New(pool, postgres.WithPollInterval(time.Hour))
	sub := collect(t, s)
	time.Sleep(200 * time.Millisecond) // let it read the empty log and LISTEN
	res := appendOne(t, postgres.New(pool), "s")
	eventually(t, "the notified event", func() bool { return len(sub.positions()) == 1 })
	if got := sub.positions(); got[0] != res.Position {
		t.Fatalf("got %v, want %d", got, res.Position)
	}
}

// TestAppendRetriesWhenItsTransactionIsOlder: an append whose transaction
// ID is older than the stream's last append (it took the ID, then another
// append to the stream committed first) must not commit, or the stream's
// versions would appear out of order in the log. It is retried in a new
// transaction. (Since 00006 any append in a transaction that already has
// an ID is refused the same way, first thing.)
func TestAppendRetriesWhenItsTransactionIsOlder(t *testing.T) {
	pool := pgtest.NewPool(t)
	other := postgres.New(pool)
	appendOne(t, other, "s")

	s := postgres.New(pool)
	var attempts []int
	postgres.SetAppendHook(s, func(ctx context.Context, tx pgx.Tx, attempt int) error {
		attempts = append(attempts, attempt)
		if attempt > 1 {
			return nil
		}
		// Take a transaction ID now, then let a newer transaction append
		// to the stream and commit first.
		if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			return err
		}
		_, err := other.Append(ctx, "s", eventstore.Any(), []eventstore.EventData{newEvent(2)})
		return err
	})
	res, err := s.Append(context.Background(), "s", eventstore.Any(), []eventstore.EventData{newEvent(3)})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if res.Version != 3 || !reflect.DeepEqual(attempts, []int{1, 2}) {
		t.Fatalf("version %d after attempts %v; want version 3 after attempts [1 2]", res.Version, attempts)
	}
	var log []eventstore.RecordedEvent
	eventually(t, "three events in the log", func() bool { log = readAll(t, other, 0); return len(log) == 3 })
	for i, e := range log {
		if e.Version != uint64(i+1) {
			t.Fatalf("log shows versions out of order: event %d has version %d", i, e.Version)
		}
	}

	t.Run("gives up after bounded attempts", func(t *testing.T) {
		attempts := 0
		postgres.SetAppendHook(s, func(ctx context.Context, tx pgx.Tx, _ int) error {
			attempts++
			if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
				return err
			}
			_, err := other.Append(ctx, "s", eventstore.Any(), []eventstore.EventData{newEvent(4)})
			return err
		})
		_, err := s.Append(context.Background(), "s", eventstore.Any(), []eventstore.EventData{newEvent(5)})
		if err == nil || errors.Is(err, eventstore.ErrVersionConflict) || errors.Is(err, eventstore.ErrInvalidAppend) {
			t.Fatalf("err = %v, want a plain error", err)
		}
		if attempts != 5 {
			t.Fatalf("%d attempts, want 5", attempts)
		}
	})
}

// TestObserver sees every append with its outcome.
func TestObserver(t *testing.T) {
	t.Parallel()
	type call struct {
		stream string
		n      int
		err    error
	}
	var mu sync.Mutex
	var calls []call
	s := postgres.New(pgtest.NewPool(t), postgres.WithObserver(func(stream string, n int, took time.Duration, err error) {
		if took <= 0 {
			t.Errorf("append took %s", took)
		}
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{stream, n, err})
	}))
	ctx := context.Background()
	if _, err := s.Append(ctx, "obs", eventstore.NoStream(), []eventstore.EventData{newEvent(1), newEvent(2)}); err != nil {
		t.Fatal(err)
	}
	_, conflict := s.Append(ctx, "obs", eventstore.NoStream(), []eventstore.EventData{newEvent(3)})
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[0] != (call{"obs", 2, nil}) || calls[1].n != 1 || !errors.Is(calls[1].err, eventstore.ErrVersionConflict) || calls[1].err != conflict {
		t.Fatalf("observer calls %+v", calls)
	}
}

// TestInputsPostgresCannotStore: input the port allows in Go but
// PostgreSQL cannot hold is an invalid append, not a server error.
func TestInputsPostgresCannotStore(t *testing.T) {
	t.Parallel()
	s := postgres.New(pgtest.NewPool(t))
	ctx := context.Background()
	withData := func(data string) []eventstore.EventData {
		e := newEvent(1)
		e.Data = []byte(data)
		return []eventstore.EventData{e}
	}
	tests := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"NUL in the stream name", "a\x00b", withData(`{}`)},
		{"invalid UTF-8 in the stream name", "a\xffb", withData(`{}`)},
		{"stream name too long to index", longRandomName(), withData(`{}`)},
		{"NUL escape in the data", "nul-data", withData(`{"s":"a\u0000b"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx, tt.stream, eventstore.Any(), tt.evs)
			if !errors.Is(err, eventstore.ErrInvalidAppend) {
				t.Fatalf("err = %v, want ErrInvalidAppend", err)
			}
		})
	}
}

// longRandomName does not compress below PostgreSQL's index entry limit.
func longRandomName() string {
	var b strings.Builder
	for range 4000 {
		b.WriteString(uuid.NewString())
	}
	return b.String()
}
