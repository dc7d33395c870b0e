package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// relayPartitions: enough to spread streams over partitions and so get
// acknowledgements out of log order; few enough for a 2-core machine.
const relayPartitions = 4

// relayLogger logs to stderr with -v (EDUSMARTHUB_TEST_LOG=1), else nowhere.
func relayLogger() *slog.Logger {
	if os.Getenv("EDUSMARTHUB_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// relayBroker starts an embedded broker on addr (127.0.0.1:0: a free port).
func relayBroker(t *testing.T, addr string) *kafka.EmbeddedBroker {
	t.Helper()
	b, err := kafka.StartEmbeddedBroker(context.Background(), addr, relayPartitions, relayLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// relayDB is a migrated database with a PostgreSQL event store on it.
func relayDB(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	return postgres.New(pool, postgres.WithPollInterval(50*time.Millisecond)), pool
}

func relayKafkaConfig(addr string) kafka.Config {
	return kafka.Config{Brokers: []string{addr}, Partitions: relayPartitions}
}

// relayRunning is a relay running in the background.
type relayRunning struct {
	*kafka.Relay
	stop context.CancelFunc
	done chan error
	reg  *prometheus.Registry
	once sync.Once
}

// startRelay runs a relay until the test ends (or stopAndWait).
func startRelay(t *testing.T, kcfg kafka.Config, store eventstore.Store, pool *pgxpool.Pool, tweak ...func(*kafka.RelayConfig)) *relayRunning {
	t.Helper()
	reg := prometheus.NewRegistry()
	rc := kafka.RelayConfig{
		Kafka:              kcfg,
		LockPollInterval:   100 * time.Millisecond,
		LockTimeout:        2 * time.Second,
		RetryBackoff:       100 * time.Millisecond,
		MaxRetryBackoff:    time.Second,
		CheckpointInterval: 20 * time.Millisecond,
		StatusInterval:     100 * time.Millisecond,
		Logger:             relayLogger(),
		Registerer:         reg,
	}
	for _, f := range tweak {
		f(&rc)
	}
	r, err := kafka.NewRelay(rc, store, pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &relayRunning{Relay: r, stop: cancel, done: make(chan error, 1), reg: reg}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stopAndWait(t) })
	return rr
}

func (r *relayRunning) stopAndWait(t *testing.T) {
	t.Helper()
	r.stop()
	r.once.Do(func() {
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("relay Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("relay did not stop within 30s")
		}
	})
}

// relayEvent is an event of a real type (so it has a channel and a topic).
func relayEvent(stream string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:   uuid.New(),
		Type: domain.TeacherPreferencesUpdatedType,
		Data: fmt.Appendf(nil, `{"teacherId":%q,"schoolId":"s1","preferences":{"preferredTimeSlots":null,"maxClassesPerDay":%d},"at":"2025-09-01T08:30:00Z"}`, stream, n%10+1),
		Metadata: eventstore.Metadata{SchoolID: "s1", ActorID: "a1", ActorRole: "school_admin",
			CorrelationID: "c-" + stream, RequestID: "r1"},
	}
}

// appendConcurrently appends perStream events (one per append) to each of
// streams streams from writers goroutines, each stream's appends in order
// by one writer, and returns how many events it appended per stream.
func appendConcurrently(t *testing.T, ctx context.Context, store eventstore.Store, prefix string, streams, perStream, writers int) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := 1; i <= perStream; i++ {
				for s := w; s < streams; s += writers {
					stream := fmt.Sprintf("%s-%03d", prefix, s)
					if _, err := store.Append(ctx, stream, eventstore.Exact(uint64(i-1)), []eventstore.EventData{relayEvent(stream, i)}); err != nil {
						errs <- fmt.Errorf("append %s #%d: %w", stream, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := make(map[string]int, streams)
	for s := range streams {
		want[fmt.Sprintf("%s-%03d", prefix, s)] = perStream
	}
	return want
}

// received is what a plain franz-go consumer read: per stream, the stream
// versions in the order they arrived (duplicates included).
type received struct {
	mu       sync.Mutex
	versions map[string][]uint64
	ids      map[uuid.UUID]int
	events   []kafka.Event
	bad      []error
}

// consumeAll reads every channel topic from the start with a plain kgo
// client (no consumer group: a downstream consumer that is not ours)
// until cond holds or the timeout passes.
func consumeAll(t *testing.T, addr string, kcfg kafka.Config, timeout time.Duration, cond func(*received) bool) *received {
	t.Helper()
	topics := kcfg.Topics()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topics[:len(topics)-1]...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := &received{versions: map[string][]uint64{}, ids: map[uuid.UUID]int{}}
	deadline := time.Now().Add(timeout)
	for !cond(got) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s the consumer has %d distinct events (%d streams)", timeout, len(got.ids), len(got.versions))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fetches := cl.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(rec *kgo.Record) {
			h := make(map[string]string, len(rec.Headers))
			for _, x := range rec.Headers {
				h[x.Key] = string(x.Value)
			}
			e, err := kafka.DecodeHeaders(h, rec.Value)
			got.mu.Lock()
			defer got.mu.Unlock()
			if err != nil {
				got.bad = append(got.bad, err)
				return
			}
			if string(rec.Key) != e.Stream {
				got.bad = append(got.bad, fmt.Errorf("event %s of stream %s has key %q", e.ID, e.Stream, rec.Key))
			}
			if want := kcfg.Topic(e.Channel); rec.Topic != want {
				got.bad = append(got.bad, fmt.Errorf("event %s (%s) on topic %s, want %s", e.ID, e.Type, rec.Topic, want))
			}
			got.versions[e.Stream] = append(got.versions[e.Stream], e.Version)
			got.ids[e.ID]++
			got.events = append(got.events, e)
		})
	}
	return got
}

// hasAll is a consumeAll condition: every stream has all its versions.
func hasAll(want map[string]int) func(*received) bool {
	return func(r *received) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for s, n := range want {
			if !slices.Contains(r.versions[s], uint64(n)) {
				return false
			}
			if len(r.versions[s]) < n {
				return false
			}
		}
		return true
	}
}

// checkStrictOrder: each stream's versions arrived exactly once each, as
// 1, 2, ..., n (no failure happened, so no duplicates are allowed either).
func (r *received) checkStrictOrder(t *testing.T, want map[string]int) {
	t.Helper()
	for _, err := range r.bad {
		t.Error(err)
	}
	for s, n := range want {
		got := r.versions[s]
		if len(got) != n {
			t.Errorf("stream %s: %d messages, want %d: %v", s, len(got), n, got)
			continue
		}
		for i, v := range got {
			if v != uint64(i+1) {
				t.Errorf("stream %s arrived out of order: %v", s, got)
				break
			}
		}
	}
}

// checkAppliesInOrder is what at-least-once delivery promises after
// failures: a consumer that applies version v of a stream only right
// after v-1 and ignores the rest (duplicates, and an event that arrived
// before a re-sent predecessor) ends with every event applied.
func (r *received) checkAppliesInOrder(t *testing.T, want map[string]int) {
	t.Helper()
	for _, err := range r.bad {
		t.Error(err)
	}
	for s, n := range want {
		applied := uint64(0)
		for _, v := range r.versions[s] {
			if v == applied+1 {
				applied = v
			}
		}
		if applied != uint64(n) {
			t.Errorf("stream %s: applying in order reaches version %d of %d: %v", s, applied, n, r.versions[s])
		}
	}
}
