package kurrentdb_test

// The contract suite runs twice: against internal/kurrentfake, an
// in-process server of KurrentDB's gRPC protocol (what it reproduces, and
// how each behaviour was checked against KurrentDB's documentation, is in
// internal/kurrentfake/behaviour_test.go), and against a real KurrentDB
// when KURRENTDB_URL names one (deploy/docker-compose.kurrentdb.yml starts
// one), each subtest in a namespace of its own so it sees an empty log.

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/kurrentdb"
	"github.com/edusmarthub/edusmarthub/eventstore/storetest"
	"github.com/edusmarthub/edusmarthub/internal/kurrentfake"
)

// fake starts a test double that writes system events now and then, as a
// real node does, so filters and Head meet them between ours.
func fake(t *testing.T) *kurrentfake.Server {
	t.Helper()
	srv, err := kurrentfake.Start(kurrentfake.Options{StatsInterval: 25 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func open(t *testing.T, url string, opts ...kurrentdb.Option) *kurrentdb.Store {
	t.Helper()
	s, err := kurrentdb.Open(url, append([]kurrentdb.Option{kurrentdb.WithRetry(20, 20*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, fake(t).URL()) })
}

func TestContractRealKurrentDB(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: skipping the contract suite against a real KurrentDB " +
			"(start one with deploy/docker-compose.kurrentdb.yml and set KURRENTDB_URL=esdb://localhost:2113?tls=false)")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return open(t, url, kurrentdb.WithNamespace("storetest_"+strings.ReplaceAll(uuid.NewString(), "-", "")))
	})
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{
			ID:       uuid.New(),
			Type:     "test.happened.v1",
			Data:     []byte(`{"n":1}`),
			Metadata: eventstore.Metadata{SchoolID: "s1", ActorID: "a1", CorrelationID: "c1", CausationID: "k1"},
		}
	}
	return out
}

func ids(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestSubscribeAllResumesAfterServerRestart(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	s := open(t, srv.URL())
	ctx := ctxFor(t)
	first := events(3)
	if _, err := s.Append(ctx, "resume-1", eventstore.NoStream(), first); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen []eventstore.RecordedEvent
	subCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(subCtx, 0, func(_ context.Context, e eventstore.RecordedEvent) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, e)
			return nil
		})
	}()
	waitSeen := func(n int) []eventstore.RecordedEvent {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			got := append([]eventstore.RecordedEvent(nil), seen...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscriber saw %d of %d events", len(got), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitSeen(3)

	// The server goes away and comes back: the subscription must resume
	// after the last event it delivered, neither skipping nor repeating.
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	second := events(2)
	if _, err := s.Append(ctx, "resume-1", eventstore.Exact(3), second); err != nil {
		t.Fatalf("append after restart: %v", err)
	}
	waitSeen(5)
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
	mu.Lock()
	got := append([]eventstore.RecordedEvent(nil), seen...)
	mu.Unlock()
	want := append(append([]uuid.UUID(nil), first[0].ID, first[1].ID, first[2].ID), second[0].ID, second[1].ID)
	if !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("delivered %v, want %v", ids(got), want)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SubscribeAll = %v, want context.Canceled", err)
	}
}

// While the server is away a read fails (it is not an empty stream);
// when it is back, the store carries on.
func TestServerOutage(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	s := open(t, srv.URL())
	ctx := ctxFor(t)
	if _, err := s.Append(ctx, "recover-1", eventstore.NoStream(), events(1)); err != nil {
		t.Fatal(err)
	}
	restarted := make(chan error, 1)
	go func() { restarted <- srv.RestartAfter(2 * time.Second) }()
	time.Sleep(100 * time.Millisecond)
	down, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if got, err := s.ReadStream(down, "recover-1", 0, 0); err == nil {
		t.Fatalf("ReadStream with the server down = %d events and no error; want an error, not an empty stream", len(got))
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	// gRPC reconnects with a backoff of its own, longer on a loaded
	// machine: the store must carry on once the connection is back, so
	// allow it a bounded while to come back.
	var (
		got []eventstore.RecordedEvent
		err error
	)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, err = s.ReadStream(ctx, "recover-1", 0, 0)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(got) != 1 {
		t.Fatalf("ReadStream after the server came back = %d events, %v", len(got), err)
	}
}

// A server that is not there when the store starts: client v4.2.0 gives
// up after its discovery attempts and closes itself; once the server is
// up, the store works with a new client.
func TestStoreStartsBeforeTheServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := open(t, "esdb://"+addr+"?tls=false")
	ctx := ctxFor(t)
	down, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	if _, err := s.Head(down); err == nil {
		t.Fatal("Head without a server succeeded")
	}
	srv, err := kurrentfake.Start(kurrentfake.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := s.Append(ctx, "late-1", eventstore.NoStream(), events(1)); err != nil {
		t.Fatalf("Append once the server is up: %v", err)
	}
}

func TestSystemEventsAreNotShown(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	s := open(t, srv.URL())
	ctx := ctxFor(t)
	if head, err := s.Head(ctx); err != nil || head != 0 {
		t.Fatalf("Head of a log with only system events = %d, %v; want 0", head, err)
	}
	evs := events(2)
	res, err := s.Append(ctx, "sys-1", eventstore.NoStream(), evs)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 { // more than a page of Head's backward scan
		srv.AppendSystemEvent("$stats-127.0.0.1:2113", "$statsCollected")
	}
	all, err := s.ReadAll(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(all), []uuid.UUID{evs[0].ID, evs[1].ID}) {
		t.Fatalf("ReadAll = %v, want only the appended events", ids(all))
	}
	if head, err := s.Head(ctx); err != nil || head != res.Position {
		t.Fatalf("Head = %d, %v; want %d", head, err, res.Position)
	}
	for _, stream := range []string{"$settings", "$users", "edusmarthub-eventid-" + evs[0].ID.String()} {
		if got, err := s.ReadStream(ctx, stream, 0, 0); err != nil || len(got) != 0 {
			t.Errorf("ReadStream(%s) = %d events, %v; want none", stream, len(got), err)
		}
	}
}

// The port's position is KurrentDB's commit position, which equals the
// prepare position for every event the adapter writes.
func TestPositionsAreKurrentDBPositions(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	s := open(t, srv.URL())
	ctx := ctxFor(t)
	res, err := s.Append(ctx, "pos-1", eventstore.NoStream(), events(3))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := kurrentdb.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	raw, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rs, err := raw.ReadStream(ctx, "pos-1", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	last, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	p := last.Event.Position
	if p.Commit != p.Prepare || p.Commit != res.Position {
		t.Fatalf("last event at {commit %d, prepare %d}; Append returned %d", p.Commit, p.Prepare, res.Position)
	}
	var meta map[string]any
	if err := json.Unmarshal(last.Event.UserMetadata, &meta); err != nil {
		t.Fatal(err)
	}
	if meta["schoolId"] != "s1" || meta["$correlationId"] != "c1" || meta["$causationId"] != "k1" {
		t.Errorf("user metadata = %v", meta)
	}
	if last.Event.ContentType != "application/json" {
		t.Errorf("content type %q", last.Event.ContentType)
	}
}

func TestAppendRejectsNamesKurrentDBReserves(t *testing.T) {
	t.Parallel()
	s := open(t, fake(t).URL())
	ctx := ctxFor(t)
	sys := events(1)
	sys[0].Type = "$metadata"
	tests := []struct {
		name   string
		stream string
		evs    []eventstore.EventData
	}{
		{"system stream", "$settings", events(1)},
		{"claim stream", "edusmarthub-eventid-x", events(1)},
		{"system event type", "ok-1", sys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Append(ctx, tt.stream, eventstore.Any(), tt.evs); !errors.Is(err, eventstore.ErrInvalidAppend) {
				t.Fatalf("err = %v, want ErrInvalidAppend", err)
			}
		})
	}
}

// An append that failed leaves its IDs claimed for its stream; appending
// them to that stream again later works, to another does not.
func TestFailedAppendKeepsItsIDsForItsStream(t *testing.T) {
	t.Parallel()
	s := open(t, fake(t).URL())
	ctx := ctxFor(t)
	evs := events(2)
	if _, err := s.Append(ctx, "claimed-1", eventstore.Exact(4), evs); !errors.Is(err, eventstore.ErrVersionConflict) {
		t.Fatalf("first append: %v, want a conflict", err)
	}
	if _, err := s.Append(ctx, "claimed-2", eventstore.NoStream(), evs); !errors.Is(err, eventstore.ErrInvalidAppend) {
		t.Fatalf("the IDs in another stream: %v, want ErrInvalidAppend", err)
	}
	res, err := s.Append(ctx, "claimed-1", eventstore.NoStream(), evs)
	if err != nil || res.Version != 2 {
		t.Fatalf("the IDs in their stream = %+v, %v", res, err)
	}
}

func TestWithNamespace(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	a := open(t, srv.URL(), kurrentdb.WithNamespace("tenant_a"))
	b := open(t, srv.URL(), kurrentdb.WithNamespace("tenant_b"))
	ctx := ctxFor(t)
	ea, eb := events(1), events(1)
	if _, err := a.Append(ctx, "s-1", eventstore.NoStream(), ea); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "s-1", eventstore.NoStream(), eb); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		s    *kurrentdb.Store
		want uuid.UUID
	}{"a": {a, ea[0].ID}, "b": {b, eb[0].ID}} {
		all, err := tc.s.ReadAll(ctx, 0, 0)
		if err != nil || len(all) != 1 || all[0].ID != tc.want || all[0].StreamID != "s-1" {
			t.Errorf("namespace %s: ReadAll = %+v, %v", name, all, err)
		}
	}
	if _, err := kurrentdb.Open(srv.URL(), kurrentdb.WithNamespace("a/b")); err == nil {
		t.Error("a namespace with / was accepted")
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		ok      bool
		address string
	}{
		{"esdb://localhost:2113?tls=false", true, "localhost:2113"},
		{"kurrentdb://admin:changeit@db.internal:2113", true, "db.internal:2113"},
		{"kdb://db:2113?tls=false", true, "db:2113"},
		{"kurrentdb+discover://db:2113", true, "db:2113"},
		{"postgres://db:5432", false, ""},
		{"localhost:2113", false, ""},
		{"esdb://", false, ""},
	}
	for _, tt := range tests {
		cfg, err := kurrentdb.ParseURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("ParseURL(%q) err = %v, want ok=%v", tt.url, err, tt.ok)
			continue
		}
		if tt.ok && cfg.Address != tt.address {
			t.Errorf("ParseURL(%q).Address = %q, want %q", tt.url, cfg.Address, tt.address)
		}
	}
	if _, err := kurrentdb.ParseURL("kurrentdb://u:s3cr3t@h:notaport"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error for a bad URL with a password: %v", err)
	}
}
