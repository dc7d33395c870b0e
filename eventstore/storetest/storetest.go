// Package storetest is the contract every eventstore.Store adapter passes.
// An adapter's tests call Run with a constructor of empty stores:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return postgres.New(pgtest.NewPool(t)) })
//	}
//
// newStore is called once per subtest (subtests run in parallel) and must
// return a store whose log holds no events yet, or only events the
// adapter never shows in ReadAll. Reading the log allows for adapters
// whose log shows an append some time after it returns (the PostgreSQL
// adapter shows it once older transactions have finished): tests poll
// until what they appended is there, then check order and content.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// waitFor bounds how long a test waits for appended events to show in the
// log.
const waitFor = 30 * time.Second

// Run runs the contract suite.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, eventstore.Store)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ExpectedVersion", testExpectedVersion},
		{"IdempotentReappend", testIdempotentReappend},
		{"InvalidAppend", testInvalidAppend},
		{"ReadStream", testReadStream},
		{"ReadAll", testReadAll},
		{"SubscribeAll", testSubscribeAll},
		{"ConcurrentWritersOneStream", testConcurrentWritersOneStream},
		{"LogNeverSkips", testLogNeverSkips},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// --- helpers ---

var testMeta = eventstore.Metadata{
	SchoolID:      "school-1",
	ActorID:       "user-7",
	ActorRole:     "school_admin",
	CorrelationID: "corr-1",
	CausationID:   "cause-1",
	RequestID:     "req-1",
}

// event makes an event with a fresh ID and a JSON body naming n.
func event(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       uuid.New(),
		Type:     typ,
		Data:     fmt.Appendf(nil, `{"n": %d, "text": "caf\u00e9 \"quoted\""}`, n),
		Metadata: testMeta,
	}
}

func events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = event("storetest.happened.v1", i+1)
	}
	return out
}

// streamName is unique per call, so tests never share a stream.
func streamName(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedVersion, evs []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctxFor(t), stream, exp, evs)
	if err != nil {
		t.Fatalf("Append(%s, %s, %d events): %v", stream, exp, len(evs), err)
	}
	return res
}

func mustReadStream(t *testing.T, s eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	got, err := s.ReadStream(ctxFor(t), stream, 0, 0)
	if err != nil {
		t.Fatalf("ReadStream(%s): %v", stream, err)
	}
	return got
}

func ids(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func dataIDs(evs []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// waitForLog reads the log from after until every ID in want has shown up
// and returns the events with those IDs in log order.
func waitForLog(t *testing.T, s eventstore.Store, after eventstore.Position, want []uuid.UUID) []eventstore.RecordedEvent {
	t.Helper()
	wanted := make(map[uuid.UUID]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	deadline := time.Now().Add(waitFor)
	for {
		all, err := s.ReadAll(ctxFor(t), after, 0)
		if err != nil {
			t.Fatalf("ReadAll(%d): %v", after, err)
		}
		var ours []eventstore.RecordedEvent
		for _, e := range all {
			if wanted[e.ID] {
				ours = append(ours, e)
			}
		}
		if len(ours) >= len(want) {
			return ours
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the log shows %d of %d appended events", waitFor, len(ours), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkConflict(t *testing.T, err error, stream string, exp eventstore.ExpectedVersion, actual eventstore.Version) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrVersionConflict) {
		t.Fatalf("err = %v, want a version conflict", err)
	}
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %T %v, want a *eventstore.ConflictError", err, err)
	}
	want := eventstore.ConflictError{Stream: stream, Expected: exp, Actual: actual}
	if *ce != want {
		t.Fatalf("conflict = %+v, want %+v", *ce, want)
	}
}

// --- tests ---

func testAppendAndReadBack(t *testing.T, s eventstore.Store) {
	stream := streamName("order")
	first := events(3)
	first[1].Metadata = eventstore.Metadata{SchoolID: "school-2", ActorID: "svc"} // optional fields empty
	before := time.Now()
	res := mustAppend(t, s, stream, eventstore.NoStream(), first)
	if res.Version != 3 || res.Position == 0 {
		t.Fatalf("first append = %+v, want version 3 and a position", res)
	}
	res2 := mustAppend(t, s, stream, eventstore.Exact(3), events(2))
	if res2.Version != 5 {
		t.Fatalf("second append = %+v, want version 5", res2)
	}

	got := mustReadStream(t, s, stream)
	if len(got) != 5 {
		t.Fatalf("ReadStream returned %d events, want 5", len(got))
	}
	for i, e := range got[:3] {
		w := first[i]
		if e.ID != w.ID || e.Type != w.Type || e.StreamID != stream || e.Version != uint64(i+1) {
			t.Errorf("event %d = {%s %s %s v%d}, want {%s %s %s v%d}", i, e.ID, e.Type, e.StreamID, e.Version, w.ID, w.Type, stream, i+1)
		}
		if !jsonEqual(e.Data, w.Data) {
			t.Errorf("event %d data = %s, want %s", i, e.Data, w.Data)
		}
		if e.Metadata != w.Metadata {
			t.Errorf("event %d metadata = %+v, want %+v", i, e.Metadata, w.Metadata)
		}
		if e.RecordedAt.Before(before.Add(-time.Minute)) || e.RecordedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("event %d recorded at %s, not about now", i, e.RecordedAt)
		}
	}
	if got[2].Position != res.Position || got[4].Position != res2.Position {
		t.Errorf("positions of the last events %d, %d; the appends returned %d, %d", got[2].Position, got[4].Position, res.Position, res2.Position)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Version != got[i-1].Version+1 {
			t.Errorf("versions %d then %d", got[i-1].Version, got[i].Version)
		}
		if got[i].Position == got[i-1].Position {
			t.Errorf("events %d and %d share position %d", i-1, i, got[i].Position)
		}
	}
}

func testExpectedVersion(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	tests := []struct {
		name     string
		existing int // events in the stream before
		exp      eventstore.ExpectedVersion
		ok       bool
	}{
		{"any on a new stream", 0, eventstore.Any(), true},
		{"any on a stream", 2, eventstore.Any(), true},
		{"no stream on a new stream", 0, eventstore.NoStream(), true},
		{"exact 0 on a new stream", 0, eventstore.Exact(0), true},
		{"exact on a new stream", 0, eventstore.Exact(1), false},
		{"no stream on a stream", 2, eventstore.NoStream(), false},
		{"exact version", 2, eventstore.Exact(2), true},
		{"exact behind", 2, eventstore.Exact(1), false},
		{"exact ahead", 2, eventstore.Exact(3), false},
		{"exact far beyond", 2, eventstore.Exact(1 << 63), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := streamName("exp")
			if tt.existing > 0 {
				mustAppend(t, s, stream, eventstore.NoStream(), events(tt.existing))
			}
			res, err := s.Append(ctx, stream, tt.exp, events(1))
			if tt.ok {
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if res.Version != uint64(tt.existing+1) {
					t.Fatalf("version %d, want %d", res.Version, tt.existing+1)
				}
				return
			}
			checkConflict(t, err, stream, tt.exp, uint64(tt.existing))
			if n := len(mustReadStream(t, s, stream)); n != tt.existing {
				t.Fatalf("a conflicting append changed the stream: %d events, want %d", n, tt.existing)
			}
		})
	}
}

func testIdempotentReappend(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	stream := streamName("idem")
	ab := events(2)
	first := mustAppend(t, s, stream, eventstore.NoStream(), ab)

	// Retries of the same append succeed and describe what is stored,
	// even with the (now stale) expected version of the first try.
	for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream(), eventstore.Any(), eventstore.Exact(2), eventstore.Exact(7)} {
		res, err := s.Append(ctx, stream, exp, ab)
		if err != nil || res != first {
			t.Fatalf("re-append with %s = %+v, %v; want %+v", exp, res, err, first)
		}
	}
	c := events(1)
	mustAppend(t, s, stream, eventstore.Exact(2), c)
	res, err := s.Append(ctx, stream, eventstore.Exact(2), ab)
	if err != nil || res != first {
		t.Fatalf("re-append after a later append = %+v, %v; want %+v", res, err, first)
	}

	// Anything else with stored IDs can never succeed.
	fresh := event("storetest.happened.v1", 9)
	bad := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"reordered", stream, []eventstore.EventData{ab[1], ab[0]}},
		{"partly new", stream, []eventstore.EventData{ab[1], fresh}},
		{"not consecutive", stream, []eventstore.EventData{ab[0], c[0]}},
		{"another stream", streamName("other"), ab},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, err := s.Append(ctx, b.stream, eventstore.Any(), b.evs)
			if !errors.Is(err, eventstore.ErrInvalidAppend) && !errors.Is(err, eventstore.ErrVersionConflict) {
				t.Fatalf("err = %v, want ErrInvalidAppend (or a version conflict)", err)
			}
		})
	}
	// IDs stored in another stream are an invalid append, whatever the
	// expected version.
	if _, err := s.Append(ctx, streamName("other"), eventstore.NoStream(), ab[:1]); !errors.Is(err, eventstore.ErrInvalidAppend) {
		t.Fatalf("appending another stream's event ID: err = %v, want ErrInvalidAppend", err)
	}

	got := mustReadStream(t, s, stream)
	want := append(dataIDs(ab), c[0].ID)
	if !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("stream holds %v, want %v", ids(got), want)
	}
}

func testInvalidAppend(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	one := func(mod func(*eventstore.EventData)) []eventstore.EventData {
		e := event("storetest.happened.v1", 1)
		mod(&e)
		return []eventstore.EventData{e}
	}
	dup := event("storetest.happened.v1", 1)
	tests := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"empty stream name", "", events(1)},
		{"no events", "s", nil},
		{"no ID", "s", one(func(e *eventstore.EventData) { e.ID = uuid.Nil })},
		{"no type", "s", one(func(e *eventstore.EventData) { e.Type = "" })},
		{"no data", "s", one(func(e *eventstore.EventData) { e.Data = nil })},
		{"data not JSON", "s", one(func(e *eventstore.EventData) { e.Data = []byte("{not json") })},
		{"no school", "s", one(func(e *eventstore.EventData) { e.Metadata.SchoolID = "" })},
		{"same ID twice", "s", []eventstore.EventData{dup, dup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := tt.stream
			if stream != "" {
				stream = streamName("invalid")
			}
			_, err := s.Append(ctx, stream, eventstore.Any(), tt.evs)
			if !errors.Is(err, eventstore.ErrInvalidAppend) {
				t.Fatalf("err = %v, want ErrInvalidAppend", err)
			}
			if stream != "" {
				if n := len(mustReadStream(t, s, stream)); n != 0 {
					t.Fatalf("an invalid append stored %d events", n)
				}
			}
		})
	}
}

func testReadStream(t *testing.T, s eventstore.Store) {
	stream := streamName("read")
	mustAppend(t, s, stream, eventstore.NoStream(), events(2))
	mustAppend(t, s, stream, eventstore.Exact(2), events(3))
	mustAppend(t, s, streamName("read-other"), eventstore.NoStream(), events(2))
	ctx := ctxFor(t)
	tests := []struct {
		name   string
		stream string
		after  eventstore.Version
		limit  int
		want   []eventstore.Version
	}{
		{"all", stream, 0, 0, []eventstore.Version{1, 2, 3, 4, 5}},
		{"negative limit is no limit", stream, 0, -1, []eventstore.Version{1, 2, 3, 4, 5}},
		{"after", stream, 2, 0, []eventstore.Version{3, 4, 5}},
		{"after and limit", stream, 1, 2, []eventstore.Version{2, 3}},
		{"limit beyond the end", stream, 3, 10, []eventstore.Version{4, 5}},
		{"after the end", stream, 5, 0, nil},
		{"far after the end", stream, 1 << 63, 0, nil},
		{"missing stream", streamName("missing"), 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ReadStream(ctx, tt.stream, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("ReadStream: %v", err)
			}
			var versions []eventstore.Version
			for _, e := range got {
				if e.StreamID != tt.stream {
					t.Errorf("event of stream %q in %q", e.StreamID, tt.stream)
				}
				versions = append(versions, e.Version)
			}
			if !reflect.DeepEqual(versions, tt.want) {
				t.Fatalf("versions %v, want %v", versions, tt.want)
			}
		})
	}
}

func testReadAll(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	a, b := streamName("all-a"), streamName("all-b")
	var appended []eventstore.EventData
	var last eventstore.AppendResult
	for _, step := range []struct {
		stream string
		n      int
	}{{a, 1}, {b, 1}, {a, 2}, {b, 1}, {a, 1}} {
		evs := events(step.n)
		last = mustAppend(t, s, step.stream, eventstore.Any(), evs)
		appended = append(appended, evs...)
	}
	want := dataIDs(appended)

	log := waitForLog(t, s, 0, want)
	if !reflect.DeepEqual(ids(log), want) {
		t.Fatalf("log order %v, want the order of the appends %v", ids(log), want)
	}
	if log[len(log)-1].Position != last.Position {
		t.Errorf("last event at position %d, the append returned %d", log[len(log)-1].Position, last.Position)
	}
	for i, e := range log {
		if !jsonEqual(e.Data, appended[i].Data) || e.Metadata != appended[i].Metadata || e.Type != appended[i].Type {
			t.Errorf("log event %d differs from what was appended", i)
		}
	}

	t.Run("after a position", func(t *testing.T) {
		got, err := s.ReadAll(ctx, log[1].Position, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(got), want[2:]) {
			t.Fatalf("after event 2: %v, want %v", ids(got), want[2:])
		}
	})
	t.Run("limit", func(t *testing.T) {
		got, err := s.ReadAll(ctx, log[0].Position, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(got), want[1:3]) {
			t.Fatalf("after event 1, limit 2: %v, want %v", ids(got), want[1:3])
		}
	})
	t.Run("after the last", func(t *testing.T) {
		got, err := s.ReadAll(ctx, last.Position, 0)
		if err != nil || len(got) != 0 {
			t.Fatalf("after the last event: %d events, %v", len(got), err)
		}
	})
	t.Run("head", func(t *testing.T) {
		deadline := time.Now().Add(waitFor)
		for {
			head, err := s.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if head == last.Position {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Head = %d, want %d", head, last.Position)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("unknown position", func(t *testing.T) {
		for _, p := range []eventstore.Position{last.Position + 1_000_003, 1 << 62, 1<<64 - 1} {
			if _, err := s.ReadAll(ctx, p, 0); !errors.Is(err, eventstore.ErrPositionNotFound) {
				t.Errorf("ReadAll(%d): err = %v, want ErrPositionNotFound", p, err)
			}
		}
	})
}

// subscriber collects what SubscribeAll delivers.
type subscriber struct {
	mu     sync.Mutex
	events []eventstore.RecordedEvent
	done   chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, s eventstore.Store, after eventstore.Position) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub := &subscriber{done: make(chan error, 1), cancel: cancel}
	go func() {
		sub.done <- s.SubscribeAll(ctx, after, func(_ context.Context, e eventstore.RecordedEvent) error {
			sub.mu.Lock()
			defer sub.mu.Unlock()
			sub.events = append(sub.events, e)
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-sub.done:
		case <-time.After(waitFor):
			t.Error("SubscribeAll did not return after its context was cancelled")
		}
	})
	return sub
}

// waitFor waits until the subscriber has seen n events and returns them.
func (sub *subscriber) waitFor(t *testing.T, n int) []eventstore.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		sub.mu.Lock()
		got := append([]eventstore.RecordedEvent(nil), sub.events...)
		sub.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case err := <-sub.done:
			t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription saw %d of %d events after %s", len(got), n, waitFor)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testSubscribeAll(t *testing.T, s eventstore.Store) {
	stream := streamName("sub")
	early := events(3)
	mustAppend(t, s, stream, eventstore.NoStream(), early)

	sub := subscribe(t, s, 0)
	got := sub.waitFor(t, 3)
	if !reflect.DeepEqual(ids(got), dataIDs(early)) {
		t.Fatalf("catch-up delivered %v, want %v", ids(got), dataIDs(early))
	}

	late := events(2)
	mustAppend(t, s, stream, eventstore.Exact(3), late[:1])
	mustAppend(t, s, stream, eventstore.Exact(4), late[1:])
	got = sub.waitFor(t, 5)
	want := append(dataIDs(early), dataIDs(late)...)
	if !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("delivered %v, want %v", ids(got), want)
	}

	t.Run("from a position", func(t *testing.T) {
		from := subscribe(t, s, got[1].Position)
		rest := from.waitFor(t, 3)
		if !reflect.DeepEqual(ids(rest), want[2:]) {
			t.Fatalf("delivered %v, want %v", ids(rest), want[2:])
		}
	})
	t.Run("stops on cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- s.SubscribeAll(ctx, 0, func(context.Context, eventstore.RecordedEvent) error { return nil })
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		case <-time.After(waitFor):
			t.Fatal("SubscribeAll did not return after cancel")
		}
	})
	t.Run("returns the handler's error", func(t *testing.T) {
		stop := errors.New("stop here")
		calls := 0
		err := s.SubscribeAll(ctxFor(t), 0, func(context.Context, eventstore.RecordedEvent) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if err != stop { //nolint:errorlint // "returned as is"
			t.Fatalf("err = %v, want the handler's error as is", err)
		}
	})
	t.Run("unknown position", func(t *testing.T) {
		err := s.SubscribeAll(ctxFor(t), 1<<62, func(context.Context, eventstore.RecordedEvent) error { return nil })
		if !errors.Is(err, eventstore.ErrPositionNotFound) {
			t.Fatalf("err = %v, want ErrPositionNotFound", err)
		}
	})
}

// testConcurrentWritersOneStream races 20 writers at each version of one
// stream: exactly one wins, every other gets a conflict naming the new
// version.
func testConcurrentWritersOneStream(t *testing.T, s eventstore.Store) {
	const writers, rounds = 20, 3
	stream := streamName("race")
	ctx := ctxFor(t)
	for round := range rounds {
		exp := eventstore.Exact(uint64(round))
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				_, errs[w] = s.Append(ctx, stream, exp, events(1))
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for _, err := range errs {
			if err == nil {
				winners++
				continue
			}
			checkConflict(t, err, stream, exp, uint64(round+1))
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, winners)
		}
	}
	if n := len(mustReadStream(t, s, stream)); n != rounds {
		t.Fatalf("stream has %d events, want %d", n, rounds)
	}
}

func testLogNeverSkips(t *testing.T, s eventstore.Store) { LogNeverSkips(t, s, nil) }

// Appender appends as Store.Append does, by whatever way a store offers.
type Appender func(ctx context.Context, stream string, events []eventstore.EventData) error

// LogNeverSkips appends from many goroutines to a few streams while two
// readers follow the log, one subscribed, one polling ReadAll and resuming
// from the last position it saw. Both must see every event exactly once,
// each stream's events in version order, and the same sequence. The
// writers append through appendFn, or s.Append when it is nil: a store's
// own tests can append in ways of their own (committing late, say).
func LogNeverSkips(t *testing.T, s eventstore.Store, appendFn Appender) {
	if appendFn == nil {
		appendFn = func(ctx context.Context, stream string, evs []eventstore.EventData) error {
			_, err := s.Append(ctx, stream, eventstore.Any(), evs)
			return err
		}
	}
	const writers, appendsEach, streams = 8, 25, 6
	ctx := ctxFor(t)
	names := make([]string, streams)
	for i := range names {
		names[i] = streamName(fmt.Sprintf("skip%d", i))
	}

	sub := subscribe(t, s, 0)

	var (
		pollMu   sync.Mutex
		polled   []eventstore.RecordedEvent
		pollErr  error
		stopPoll = make(chan struct{})
		pollDone = make(chan struct{})
	)
	go func() {
		defer close(pollDone)
		var after eventstore.Position
		for {
			batch, err := s.ReadAll(ctx, after, 7)
			if err != nil {
				pollMu.Lock()
				pollErr = err
				pollMu.Unlock()
				return
			}
			pollMu.Lock()
			polled = append(polled, batch...)
			pollMu.Unlock()
			if len(batch) > 0 {
				after = batch[len(batch)-1].Position
				continue
			}
			select {
			case <-stopPoll:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	var wg sync.WaitGroup
	appendErrs := make(chan error, writers)
	total := 0
	for w := range writers {
		total += appendsEach * (1 + w%3)
		wg.Go(func() {
			for i := range appendsEach {
				stream := names[(w+i)%streams]
				if err := appendFn(ctx, stream, events(1+w%3)); err != nil {
					appendErrs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(appendErrs)
	for err := range appendErrs {
		t.Fatal(err)
	}

	subscribed := sub.waitFor(t, total)
	deadline := time.Now().Add(waitFor)
	for {
		pollMu.Lock()
		n, err := len(polled), pollErr
		pollMu.Unlock()
		if err != nil {
			t.Fatalf("polling reader: %v", err)
		}
		if n >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("polling reader saw %d of %d events", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stopPoll)
	<-pollDone

	for name, seen := range map[string][]eventstore.RecordedEvent{"subscriber": subscribed, "poller": polled} {
		if len(seen) != total {
			t.Errorf("%s saw %d events, want exactly %d", name, len(seen), total)
		}
		once := make(map[uuid.UUID]bool, len(seen))
		next := make(map[string]eventstore.Version, streams)
		for _, e := range seen {
			if once[e.ID] {
				t.Errorf("%s saw event %s twice", name, e.ID)
			}
			once[e.ID] = true
			if e.Version != next[e.StreamID]+1 {
				t.Errorf("%s saw %s version %d after version %d", name, e.StreamID, e.Version, next[e.StreamID])
			}
			next[e.StreamID] = e.Version
		}
	}
	if !reflect.DeepEqual(ids(subscribed), ids(polled)) {
		t.Errorf("the subscriber and the poller saw the log in different orders")
	}
}
