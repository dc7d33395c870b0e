package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/eventstore"

	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// waitFor polls cond every 20ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func relayStatus(t *testing.T, r *relayRunning) kafka.RelayStatus {
	t.Helper()
	st, err := r.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Thousands of events appended concurrently to hundreds of streams, while
// the relay runs, all arrive once each, each stream in order; then the
// relay is caught up: position = head, lag 0, in the status and gauges.
func TestRelayPublishesConcurrentAppendsOnceInStreamOrder(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	b := relayBroker(t, "127.0.0.1:0")
	kcfg := relayKafkaConfig(b.Addr())
	r := startRelay(t, kcfg, store, pool)

	want := appendConcurrently(t, t.Context(), store, "teacher-c", 200, 15, 8) // 3,000 events
	got := consumeAll(t, b.Addr(), kcfg, time.Minute, hasAll(want))
	got.checkStrictOrder(t, want)
	if len(got.ids) != 3000 {
		t.Errorf("%d distinct events, want 3000", len(got.ids))
	}

	head, err := store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the relay to catch up", func() bool {
		st := relayStatus(t, r)
		return st.Position == head && st.Lag == 0
	})
	st := relayStatus(t, r)
	if !st.Active || st.Head != head || st.Published != 3000 {
		t.Errorf("status = %+v, want active, head %d, 3000 published", st, head)
	}
	waitFor(t, 5*time.Second, "the gauges to follow", func() bool {
		return relayGauge(t, r, "edusmarthub_relay_position") == float64(head) &&
			relayGauge(t, r, "edusmarthub_relay_lag_events") == 0 &&
			relayGauge(t, r, "edusmarthub_relay_active") == 1
	})
	if n := relayGauge(t, r, "edusmarthub_relay_published_events_total"); n != 3000 {
		t.Errorf("published counter = %v, want 3000", n)
	}
}

// relayGauge reads one of the relay's metrics from its registry.
func relayGauge(t *testing.T, r *relayRunning, name string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// killRelaySessions terminates the relay's lock session(s) from the
// database side, as if the relay's process died: the lock is released and
// the checkpoint stays what was last written, not what the relay had in
// memory.
func killRelaySessions(t *testing.T, pool interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, name string) {
	t.Helper()
	tag, err := pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
		"edusmarthub relay "+name)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatal("no relay session to terminate")
	}
}

// A relay that crashes mid-stream (its database session dies, so it never
// writes a final checkpoint) and one restarted later both resume from the
// stored checkpoint: every event arrives, in order per stream, and the
// re-sent ones are only those after the checkpoint.
func TestRelayResumesFromItsCheckpointAfterACrash(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	b := relayBroker(t, "127.0.0.1:0")
	kcfg := relayKafkaConfig(b.Addr())
	want := appendConcurrently(t, t.Context(), store, "teacher-r", 100, 20, 4) // 2,000 events

	slow := func(rc *kafka.RelayConfig) { rc.MaxInFlight = 20 }
	r := startRelay(t, kcfg, store, pool, slow)
	waitFor(t, 30*time.Second, "some events published", func() bool { return relayStatus(t, r).Published >= 300 })
	killRelaySessions(t, pool, kafka.DefaultRelayName)
	// It reconnects, takes the lock again and resumes from the stored
	// checkpoint, while more events come.
	more := appendConcurrently(t, t.Context(), store, "teacher-s", 50, 10, 2)
	waitFor(t, 30*time.Second, "the relay active again", r.Active)
	waitFor(t, 30*time.Second, "more events published", func() bool { return relayStatus(t, r).Published >= 1000 })

	// A clean stop writes the checkpoint; a new relay takes over from it.
	r.stopAndWait(t)
	stopped := relayStatus(t, r)
	if stopped.Active || stopped.Position == 0 {
		t.Fatalf("after stopping: %+v", stopped)
	}
	r2 := startRelay(t, kcfg, store, pool)
	for s, n := range more {
		want[s] = n
	}
	got := consumeAll(t, b.Addr(), kcfg, time.Minute, hasAll(want))
	got.checkAppliesInOrder(t, want)
	if len(got.ids) != 2500 {
		t.Errorf("%d distinct events, want 2500", len(got.ids))
	}
	resent := 0
	for _, n := range got.ids {
		resent += n - 1
	}
	// At most what was in flight (20) plus what was acknowledged but not
	// yet checkpointed when the session died: far fewer than a replay from
	// the start would send.
	if resent > 1000 {
		t.Errorf("%d events were sent more than once: the relay did not resume from its checkpoint", resent)
	}
	t.Logf("re-sent after the crash: %d", resent)
	waitFor(t, 10*time.Second, "the new relay to catch up", func() bool { return relayStatus(t, r2).Lag == 0 })
}

// Two relays against one store: only one publishes at a time; when it
// stops, the other takes over and publishes what comes next.
func TestTwoRelaysOnlyOnePublishesAndTheOtherTakesOver(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	b := relayBroker(t, "127.0.0.1:0")
	kcfg := relayKafkaConfig(b.Addr())
	r1 := startRelay(t, kcfg, store, pool)
	waitFor(t, 10*time.Second, "the first relay active", r1.Active)
	r2 := startRelay(t, kcfg, store, pool)

	first := appendConcurrently(t, t.Context(), store, "teacher-a", 50, 10, 4)
	consumeAll(t, b.Addr(), kcfg, time.Minute, hasAll(first))
	time.Sleep(300 * time.Millisecond) // several of the standby's lock polls
	if r2.Active() || relayStatus(t, r2).Published != 0 {
		t.Fatalf("the standby relay published: %+v", relayStatus(t, r2))
	}
	if relayGauge(t, r2, "edusmarthub_relay_active") != 0 {
		t.Error("the standby's active gauge is not 0")
	}

	r1.stopAndWait(t)
	waitFor(t, 10*time.Second, "the standby to take over", r2.Active)
	second := appendConcurrently(t, t.Context(), store, "teacher-b", 50, 10, 4)
	for s, n := range second {
		first[s] = n
	}
	got := consumeAll(t, b.Addr(), kcfg, time.Minute, hasAll(first))
	got.checkStrictOrder(t, first) // a clean hand-over re-sends nothing
	if p := relayStatus(t, r2).Published; p != 500 {
		t.Errorf("the second relay published %d events, want the 500 appended after the hand-over", p)
	}
}

// An event whose type this build does not know has no channel: it is not
// skipped (the checkpoint must pass it) but sent to the dead-letter topic
// with the reason, and the events after it are published as usual.
func TestRelaySendsUnroutableEventsToTheDLQAndGoesOn(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	b := relayBroker(t, "127.0.0.1:0")
	kcfg := relayKafkaConfig(b.Addr())
	odd := relayEvent("legacy-1", 1)
	odd.Type = "legacy.thing.v1"
	if _, err := store.Append(t.Context(), "legacy-1", eventstore.NoStream(), []eventstore.EventData{odd}); err != nil {
		t.Fatal(err)
	}
	want := appendConcurrently(t, t.Context(), store, "teacher-d", 5, 3, 1)
	r := startRelay(t, kcfg, store, pool)
	consumeAll(t, b.Addr(), kcfg, 30*time.Second, hasAll(want)).checkStrictOrder(t, want)

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(kcfg.DLQTopic()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var rec *kgo.Record
	for rec == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { rec = r })
	}
	if rec == nil {
		t.Fatal("nothing on the dead-letter topic")
	}
	h := map[string]string{}
	for _, x := range rec.Headers {
		h[x.Key] = string(x.Value)
	}
	if h["ce_id"] != odd.ID.String() || h["ce_type"] != "edusmarthub.legacy.thing.v1" || !strings.Contains(h[kafka.HeaderDLQError], "legacy.thing.v1") || h[kafka.HeaderDLQHandler] != "relay" {
		t.Errorf("dead letter headers: %v", h)
	}
	waitFor(t, 10*time.Second, "the checkpoint past it", func() bool { return relayStatus(t, r).Lag == 0 })
}

// The two ways of counting the lag agree, from the start and from a
// position inside the log.
func TestBacklogCountsTheEventsAfterAPosition(t *testing.T) {
	t.Parallel()
	store, pool := relayDB(t)
	appendConcurrently(t, t.Context(), store, "teacher-l", 7, 5, 2) // 35 events
	// Readable once every older transaction of the cluster has ended.
	var all []eventstore.RecordedEvent
	waitFor(t, 10*time.Second, "the events readable", func() bool {
		var err error
		all, err = store.ReadAll(t.Context(), 0, 0)
		return err == nil && len(all) == 35
	})
	pg, generic := kafka.PostgresBacklog(pool), kafka.StoreBacklog(store)
	for _, tc := range []struct {
		after eventstore.Position
		want  uint64
	}{{0, 35}, {all[0].Position, 34}, {all[19].Position, 15}, {all[34].Position, 0}} {
		for name, f := range map[string]kafka.BacklogFunc{"postgres": pg, "store": generic} {
			if got, err := f(t.Context(), tc.after); err != nil || got != tc.want {
				t.Errorf("%s backlog after %d = %d, %v; want %d", name, tc.after, got, err, tc.want)
			}
		}
	}
}

func TestRelayConfigValidation(t *testing.T) {
	t.Parallel()
	_, pool := relayDB(t)
	_, err := kafka.NewRelay(kafka.RelayConfig{
		Kafka:            kafka.Config{Brokers: []string{"k:1"}},
		MaxInFlight:      -1,
		LockPollInterval: 5 * time.Second,
		LockTimeout:      time.Second,
	}, nil, pool)
	for _, want := range []string{"max in flight", "lock timeout", "no event store"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
