package kurrentfake_test

// What the test double reproduces of KurrentDB, and how each behaviour was
// checked. Docs were read through the project's search tool; where the
// docs do not say enough, KurrentDB's source (EventStore/EventStore on
// GitHub, src/EventStore.Core) was read for the exact rule. Each behaviour
// has a test below, driven through the real EventStore-Client-Go v4.2.0
// client.
//
//  1. Revisions count from 0, gapless, per stream; an append answers the
//     stream's revision and the position of its last event.
//     Docs: docs.kurrent.io/clients/python/v1.1/appending-events ("Stream
//     positions in KurrentDB are zero-based ... gapless");
//     docs.kurrent.io/clients/golang/v1.0/reading-events.html (revisions
//     from 0). Source: RequestManager/Managers/WriteEvents.cs (answers
//     CommitPosition as both parts), Services/Storage/StorageChaser.cs (the
//     commit acknowledgement carries the last prepare's log position).
//     Test: TestRevisionsAndAppendPositions.
//
//  2. $all positions: every event has a commit and a prepare position
//     (docs: developers.eventstore.com/clients/grpc/reading-events, "a
//     Position that is the events logical position that is represented by
//     CommitPosition and a PreparePosition"); for events appended over
//     gRPC both are the record's log position (source: ReaderIndex/
//     AllReader.cs, IsCommitAlike records); positions are byte offsets in
//     the log, so they grow but are not consecutive, and 0 (the epoch
//     record) holds no event. Reading forwards from a position includes
//     the event there; backwards excludes it; a number that is not a
//     record's position is refused with InvalidArgument "Trying to read
//     from an invalid position." (source: Services/Transport/Grpc/
//     RpcExceptions.cs, StorageReaderWorker InvalidPosition).
//     Test: TestAllPositions.
//
//  3. Wrong expected version, with the stream's current revision (or "no
//     stream") and the expected one in the answer (proto
//     AppendResp.WrongExpectedVersion; docs: docs.kurrent.io/clients/
//     dotnet/v1.4/appending-events, "Handling concurrency").
//     Test: TestWrongExpectedVersion.
//
//  4. Idempotent retries by event ID, by KurrentDB's exact rule
//     (source: ReaderIndex/IndexWriter.cs, CheckCommit): the same IDs at
//     the same expected revision succeed again without new events (docs:
//     docs.kurrent.io/clients/python/v1.1/appending-events, "If you call
//     append_to_stream() twice with the same event IDs and the same
//     current_version then the second call will succeed idempotently");
//     with "any", IDs already in the stream succeed without new events
//     (docs: docs.kurrent.io/clients/dotnet/v1.4/appending-events, "If two
//     events with the same Uuid are appended to the same stream in quick
//     succession, KurrentDB will only append one"), whatever their order;
//     a partial match is a wrong expected version; at the stream's current
//     revision the IDs are written again; IDs of another stream are
//     written again. Test: TestIdempotency.
//
//  5. A missing stream is a message of the read (StreamNotFound), which
//     client v4.2.0 returns from the first Recv, not from ReadStream (docs:
//     docs.kurrent.io/clients/golang/v1.0/reading-events.html, checking
//     for a missing stream). Test: TestStreamNotFound.
//
//  6. Server-side filters on event type or stream name, by prefixes or a
//     regular expression; the usual one leaves out system events, whose
//     types start with $ (docs: kurrent.io/blog/server-side-filtering;
//     deepwiki.com/kurrent-io/KurrentDB-Client-Dotnet/7.2-server-side-
//     filtering, "The most common filter excludes KurrentDB system events
//     (those with event types starting with $)"). A fresh node's log
//     starts with such events ($settings, the default users), and $stats
//     events keep coming. Test: TestFilters.
//
//  7. Catch-up subscriptions to $all: a confirmation first; positions are
//     exclusive ("You will only receive the next event after the
//     subscribed position", docs.kurrent.io/clients/golang/v1.0/
//     subscriptions.html); historical events, then a caught-up message,
//     then live events (same page: "If events already exist, the handler
//     will be called for each event one by one until it reaches the end of
//     the stream. The server will then notify the handler whenever a new
//     event appears", and its Recv loop handles CaughtUp); a subscriber
//     that falls behind goes back to catch-up ("fell behind"), then is
//     caught up again (developers.eventstore.com/clients/dotnet/5.0/
//     subscriptions/catchup-subscriptions.html, "If the stream gets more
//     events that the subscriber can process in real time, the subscriber
//     will lag behind and switch to the catch-up mode again"). Filtered
//     subscriptions send checkpoints so a client can resume without
//     re-filtering (pub.dev eventstore_client SubscriptionFilterOptions,
//     "how often the server should send a checkpoint of current
//     LogPosition"); the rule — every checkpointIntervalMultiplier ×
//     maxSearchWindow events considered, and one when going live — is from
//     source: Services/Transport/Grpc/Enumerators.AllSubscriptionFiltered.
//     Tests: TestSubscriptionCatchUpAndLive, TestSubscriptionCheckpoints,
//     TestSubscriptionFallsBehind.
//
//  8. A node restart drops every connection and subscription; the client
//     reconnects. Test: in eventstore/kurrentdb,
//     TestSubscribeAllResumesAfterServerRestart.
//
// Not reproduced: see the package doc.

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edusmarthub/edusmarthub/internal/kurrentfake"
)

func start(t *testing.T, opts kurrentfake.Options) (*kurrentfake.Server, *esdb.Client) {
	t.Helper()
	srv, err := kurrentfake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ev(typ string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(`{"a":1}`)}
}

func appendTo(t *testing.T, c *esdb.Client, stream string, exp esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	wr, err := c.AppendToStream(ctxFor(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return wr
}

func readStream(t *testing.T, c *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ReadStream(ctxFor(t), stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Event)
	}
}

func readAll(t *testing.T, c *esdb.Client, opts esdb.ReadAllOptions) ([]*esdb.RecordedEvent, error) {
	t.Helper()
	rs, err := c.ReadAll(ctxFor(t), opts, 1000)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e.Event)
	}
}

func TestRevisionsAndAppendPositions(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{})
	wr := appendTo(t, c, "order-1", esdb.NoStream{}, ev("a"), ev("b"), ev("c"))
	if wr.NextExpectedVersion != 2 {
		t.Fatalf("revision after 3 events = %d, want 2", wr.NextExpectedVersion)
	}
	got := readStream(t, c, "order-1")
	for i, e := range got {
		if e.EventNumber != uint64(i) {
			t.Errorf("event %d has revision %d", i, e.EventNumber)
		}
	}
	last := got[len(got)-1].Position
	if wr.CommitPosition != last.Commit || wr.PreparePosition != last.Commit {
		t.Fatalf("append answered {%d, %d}; its last event is at %+v", wr.CommitPosition, wr.PreparePosition, last)
	}
}

func TestAllPositions(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{NoSystemEvents: true})
	appendTo(t, c, "p-1", esdb.Any{}, ev("a"), ev("b"))
	appendTo(t, c, "p-2", esdb.Any{}, ev("c"))
	all, err := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}})
	if err != nil || len(all) != 3 {
		t.Fatalf("read $all: %d events, %v", len(all), err)
	}
	for i, e := range all {
		if e.Position.Commit != e.Position.Prepare || e.Position.Commit == 0 {
			t.Errorf("event %d at %+v", i, e.Position)
		}
		if i > 0 && e.Position.Commit <= all[i-1].Position.Commit+1 {
			t.Errorf("positions %d then %d: want growing by the record's size", all[i-1].Position.Commit, e.Position.Commit)
		}
	}
	from, err := readAll(t, c, esdb.ReadAllOptions{From: all[1].Position})
	if err != nil || len(from) != 2 || from[0].EventID != all[1].EventID {
		t.Fatalf("forwards from event 2's position: %d events, %v; want it and the next", len(from), err)
	}
	back, err := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: all[1].Position})
	if err != nil || len(back) != 1 || back[0].EventID != all[0].EventID {
		t.Fatalf("backwards from event 2's position: %d events, %v; want event 1 only", len(back), err)
	}
	for _, p := range []uint64{all[0].Position.Commit + 1, 1 << 40} {
		_, err := readAll(t, c, esdb.ReadAllOptions{From: esdb.Position{Commit: p, Prepare: p}})
		if status.Code(errors.Unwrap(err)) != codes.InvalidArgument {
			t.Errorf("read from %d: %v, want InvalidArgument", p, err)
		}
	}
}

func TestWrongExpectedVersion(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{})
	appendTo(t, c, "wev-1", esdb.NoStream{}, ev("a"), ev("b"))
	tests := []struct {
		name   string
		stream string
		exp    esdb.ExpectedRevision
		msg    string
	}{
		{"no stream on a stream", "wev-1", esdb.NoStream{}, "expecting 'no_stream' but got '1'"},
		{"behind", "wev-1", esdb.Revision(0), "expecting '0' but got '1'"},
		{"ahead", "wev-1", esdb.Revision(5), "expecting '5' but got '1'"},
		{"revision on a missing stream", "wev-2", esdb.Revision(0), "expecting '0' but got 'no_stream'"},
		{"stream exists on a missing stream", "wev-3", esdb.StreamExists{}, "expecting 'stream_exists' but got 'no_stream'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.AppendToStream(ctxFor(t), tt.stream, esdb.AppendToStreamOptions{ExpectedRevision: tt.exp}, ev("x"))
			var e *esdb.Error
			if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeWrongExpectedVersion {
				t.Fatalf("err = %v, want wrong expected version", err)
			}
			if got := e.Err().Error(); got != "wrong expected version: "+tt.msg {
				t.Errorf("detail %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{})
	a, b := ev("a"), ev("b")
	first := appendTo(t, c, "idem-1", esdb.NoStream{}, a, b)

	// Same IDs, same expected revision: success, nothing written.
	again := appendTo(t, c, "idem-1", esdb.NoStream{}, a, b)
	if again.NextExpectedVersion != 1 || again.CommitPosition != first.CommitPosition {
		t.Errorf("retry at the same expected revision = %+v, want %+v", again, first)
	}
	// "any": IDs already in the stream, in any order.
	if wr := appendTo(t, c, "idem-1", esdb.Any{}, b, a); wr.NextExpectedVersion != 0 {
		t.Errorf("reordered retry with any = %+v; KurrentDB reports the last ID's revision", wr)
	}
	if n := len(readStream(t, c, "idem-1")); n != 2 {
		t.Fatalf("stream has %d events after retries, want 2", n)
	}
	// Partly new: wrong expected version (corrupted idempotency).
	if _, err := c.AppendToStream(ctxFor(t), "idem-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, a, ev("new")); err == nil {
		t.Error("a partly repeated append succeeded")
	}
	// At the current revision, KurrentDB does not look at IDs: written again.
	appendTo(t, c, "idem-1", esdb.Revision(1), a, b)
	// Another stream: written there too.
	appendTo(t, c, "idem-2", esdb.NoStream{}, a)
	if n := len(readStream(t, c, "idem-1")); n != 4 {
		t.Fatalf("stream has %d events, want 4 (the IDs written twice)", n)
	}
}

func TestStreamNotFound(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{})
	rs, err := c.ReadStream(ctxFor(t), "missing-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 10)
	if err != nil {
		t.Fatalf("ReadStream itself failed: %v (a missing stream shows at Recv)", err)
	}
	defer rs.Close()
	_, err = rs.Recv()
	var e *esdb.Error
	if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("Recv = %v, want ErrorCodeResourceNotFound", err)
	}
}

// recvUntil collects subscription messages until stop says so.
func recvUntil(t *testing.T, sub *esdb.Subscription, stop func(*esdb.SubscriptionEvent) bool) []*esdb.SubscriptionEvent {
	t.Helper()
	var out []*esdb.SubscriptionEvent
	for {
		m := sub.Recv()
		if m.SubscriptionDropped != nil {
			t.Fatalf("dropped: %v", m.SubscriptionDropped.Error)
		}
		out = append(out, m)
		if stop(m) {
			return out
		}
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	srv, c := start(t, kurrentfake.Options{})
	appendTo(t, c, "order-1", esdb.Any{}, ev("OrderPlaced"))
	srv.AppendSystemEvent("$stats-127.0.0.1:2113", "$statsCollected")
	appendTo(t, c, "invoice-1", esdb.Any{}, ev("InvoiceSent"))
	tests := []struct {
		name   string
		filter *esdb.SubscriptionFilter
		want   []string // streams
	}{
		{"exclude system events", esdb.ExcludeSystemEventsFilter(), []string{"order-1", "invoice-1"}},
		{"stream prefix", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"inv"}}, []string{"invoice-1"}},
		{"event type regex", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: "^Order"}, []string{"order-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := c.SubscribeToAll(ctxFor(t), esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			var got []string
			for _, m := range recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.CaughtUp != nil }) {
				if m.EventAppeared != nil {
					got = append(got, m.EventAppeared.Event.StreamID)
				}
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Fatalf("streams %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSubscriptionCatchUpAndLive(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{})
	appendTo(t, c, "s-1", esdb.Any{}, ev("a"), ev("b"), ev("c"))
	all, _ := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}})
	from := all[len(all)-2].Position // the second of ours: exclusive
	sub, err := c.SubscribeToAll(ctxFor(t), esdb.SubscribeToAllOptions{From: from})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs := recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.CaughtUp != nil })
	if len(msgs) != 2 || msgs[0].EventAppeared == nil || msgs[0].EventAppeared.Event.EventID != all[len(all)-1].EventID {
		t.Fatalf("catch-up from a position delivered %d messages; want the one event after it, then caught up", len(msgs))
	}
	live := ev("d")
	appendTo(t, c, "s-1", esdb.Any{}, live)
	m := recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.EventAppeared != nil })
	if got := m[len(m)-1].EventAppeared.Event.EventID; got != live.EventID {
		t.Fatalf("live event %s, want %s", got, live.EventID)
	}
}

func TestSubscriptionCheckpoints(t *testing.T) {
	t.Parallel()
	srv, c := start(t, kurrentfake.Options{NoSystemEvents: true})
	for range 10 {
		srv.AppendSystemEvent("$stats-x", "$statsCollected")
	}
	ours := appendTo(t, c, "cp-1", esdb.Any{}, ev("a"))
	sub, err := c.SubscribeToAll(ctxFor(t), esdb.SubscribeToAllOptions{
		From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter(), MaxSearchWindow: 2, CheckpointInterval: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var checkpoints []esdb.Position
	for _, m := range recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.CaughtUp != nil }) {
		if m.CheckPointReached != nil {
			checkpoints = append(checkpoints, *m.CheckPointReached)
		}
	}
	// 11 events considered, a checkpoint every 2×2, and one going live.
	if len(checkpoints) != 3 || checkpoints[2].Commit != ours.CommitPosition {
		t.Fatalf("checkpoints %+v; want 2 in catch-up and one at the last event when going live", checkpoints)
	}
}

func TestSubscriptionFallsBehind(t *testing.T) {
	t.Parallel()
	_, c := start(t, kurrentfake.Options{LiveBuffer: 5})
	sub, err := c.SubscribeToAll(ctxFor(t), esdb.SubscribeToAllOptions{From: esdb.End{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.CaughtUp != nil })
	var batch []esdb.EventData
	for range 20 {
		batch = append(batch, ev("burst"))
	}
	appendTo(t, c, "burst-1", esdb.Any{}, batch...)
	msgs := recvUntil(t, sub, func(m *esdb.SubscriptionEvent) bool { return m.CaughtUp != nil })
	if msgs[0].FellBehind == nil {
		t.Fatalf("first message after a burst beyond the live buffer: %+v, want fell behind", msgs[0])
	}
	n := 0
	for _, m := range msgs {
		if m.EventAppeared != nil {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("delivered %d of 20 events", n)
	}
}
