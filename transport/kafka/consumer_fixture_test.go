package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// consumerFixture is one in-process broker with the service's topics and a
// producer, for the consumer-side tests.
type consumerFixture struct {
	t    *testing.T
	cfg  kafka.Config
	prod sarama.SyncProducer
	reg  *prometheus.Registry
}

// testPartitions keeps topics small: enough partitions to spread keys and
// share them between consumers, few enough for a 2-core machine.
const testPartitions = 3

func newConsumerFixture(t *testing.T) *consumerFixture {
	t.Helper()
	ctx := t.Context()
	b, err := kafka.StartEmbeddedBroker(ctx, "127.0.0.1:0", testPartitions, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: testPartitions}
	if err := kafka.EnsureTopics(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	pc, err := cfg.ProducerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := sarama.NewSyncProducer(cfg.Brokers, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	return &consumerFixture{t: t, cfg: cfg, prod: prod, reg: prometheus.NewRegistry()}
}

// publish sends stored events the way the relay does and returns where
// each landed.
func (f *consumerFixture) publish(events ...eventstore.RecordedEvent) []landed {
	f.t.Helper()
	out := make([]landed, len(events))
	for i, e := range events {
		pm, err := f.cfg.ProducerMessage(e)
		if err != nil {
			f.t.Fatal(err)
		}
		out[i] = f.send(pm)
	}
	return out
}

type landed struct {
	topic     string
	partition int32
	offset    int64
}

func (f *consumerFixture) send(pm *sarama.ProducerMessage) landed {
	f.t.Helper()
	p, off, err := f.prod.SendMessage(pm)
	if err != nil {
		f.t.Fatalf("send to %s: %v", pm.Topic, err)
	}
	return landed{pm.Topic, p, off}
}

// run starts a router and stops it at the end of the test; the returned
// function stops it earlier and returns Run's error.
func (f *consumerFixture) run(rc kafka.RouterConfig, handlers ...kafka.Handler) (*kafka.Router, func() error) {
	f.t.Helper()
	rc.Kafka = f.cfg
	if rc.Registerer == nil {
		rc.Registerer = f.reg
	}
	if rc.Logger == nil {
		rc.Logger = testLogger()
	}
	r, err := kafka.NewRouterWithConfig(rc, handlers...)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Running():
	case err := <-done:
		cancel()
		f.t.Fatalf("router stopped at start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		f.t.Fatal("router did not start in 30s")
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(45 * time.Second):
				runErr = errors.New("router did not stop in 45s")
			}
		})
		return runErr
	}
	f.t.Cleanup(func() {
		if err := stop(); err != nil {
			f.t.Errorf("router: %v", err)
		}
	})
	return r, stop
}

// committed is the sum of the group's committed offsets on the topics.
// Topics start empty in these tests, so it counts the messages the group
// acknowledged.
func (f *consumerFixture) committed(group string, topics ...string) int64 {
	f.t.Helper()
	sc, err := f.cfg.AdminSaramaConfig()
	if err != nil {
		f.t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(f.cfg.Brokers, sc)
	if err != nil {
		f.t.Fatal(err)
	}
	defer admin.Close()
	parts := map[string][]int32{}
	for _, topic := range topics {
		for p := range int32(testPartitions) {
			parts[topic] = append(parts[topic], p)
		}
	}
	resp, err := admin.ListConsumerGroupOffsets(group, parts)
	if err != nil {
		f.t.Fatal(err)
	}
	var n int64
	for _, blocks := range resp.Blocks {
		for _, b := range blocks {
			if b.Offset > 0 {
				n += b.Offset
			}
		}
	}
	return n
}

func (f *consumerFixture) deadLetters() []kafka.DeadLetter {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := kafka.ListDeadLetters(ctx, f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

var testPosition atomic.Uint64

// testEvent is a stored event whose body decodes into any teacher or
// student event type (the domain's events share these fields).
func testEvent(typ, stream string, version uint64) eventstore.RecordedEvent {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	return eventstore.RecordedEvent{
		ID:       uuid.New(),
		StreamID: stream,
		Version:  version,
		Position: testPosition.Add(1),
		Type:     typ,
		Data: fmt.Appendf(nil, `{"teacherId":%q,"studentId":%q,"schoolId":"school-1","reason":"test","at":"2025-03-04T05:06:07Z"}`,
			stream, stream),
		Metadata: eventstore.Metadata{
			SchoolID:      "school-1",
			ActorID:       "actor-1",
			ActorRole:     "school_admin",
			CorrelationID: "corr-" + stream,
			CausationID:   "cause-" + stream,
			RequestID:     "req-" + stream,
		},
		RecordedAt: at,
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger shows the router's logs with -v when KAFKA_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("KAFKA_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// recorder keeps what a handler received.
type recorder struct {
	mu       sync.Mutex
	events   []kafka.Event
	byStream map[string][]uint64
	corr     map[uuid.UUID]string
}

func newRecorder() *recorder {
	return &recorder{byStream: map[string][]uint64{}, corr: map[uuid.UUID]string{}}
}

func (r *recorder) add(ctx context.Context, e kafka.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.byStream[e.Stream] = append(r.byStream[e.Stream], e.Version)
	r.corr[e.ID] = kafka.CorrelationIDFrom(ctx)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) ids() map[uuid.UUID]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[uuid.UUID]int{}
	for _, e := range r.events {
		out[e.ID]++
	}
	return out
}

func (r *recorder) has(id uuid.UUID) bool {
	return r.ids()[id] > 0
}
