package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// batchRecorder keeps the batches a HandleBatch got and the events Handle
// got one at a time.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]kafka.Event
	singles []kafka.Event
}

func (b *batchRecorder) batch(es []kafka.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches = append(b.batches, slices.Clone(es))
}

func (b *batchRecorder) single(e kafka.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.singles = append(b.singles, e)
}

// handled is every event handled, batches and singles, in the order of
// the calls.
func (b *batchRecorder) handled() (batched, single []kafka.Event, calls int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, es := range b.batches {
		batched = append(batched, es...)
	}
	return batched, slices.Clone(b.singles), len(b.batches)
}

// A batch handler gets what a partition has waiting in one call, in
// offset order, so each stream's events in order; every event once, and
// the offsets committed.
func TestRouterHandsAPartitionsBacklogToHandleBatch(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	const streams, versions = 12, 5
	var want []eventstore.RecordedEvent
	for v := uint64(1); v <= versions; v++ {
		for s := range streams {
			typ, stream := domain.TeacherPreferencesUpdatedType, fmt.Sprintf("teacher-%d", s)
			if s%2 == 1 {
				typ, stream = domain.StudentAssignedToClassType, fmt.Sprintf("student-%d", s)
			}
			want = append(want, testEvent(typ, stream, v))
		}
	}
	// All waiting before the consumer starts: partitions have backlogs.
	f.publish(want...)

	rec := &batchRecorder{}
	f.run(kafka.RouterConfig{MaxBatch: 4}, kafka.Handler{
		Name:     "bulk",
		Channels: []domain.Channel{domain.ChannelTeacher, domain.ChannelStudent},
		Handle: func(ctx context.Context, e kafka.Event) error {
			rec.single(e)
			return nil
		},
		HandleBatch: func(ctx context.Context, es []kafka.Event) error {
			if kafka.LoggerFrom(ctx) == nil {
				t.Error("no logger in the batch's context")
			}
			rec.batch(es)
			return nil
		},
	})
	eventually(t, 30*time.Second, "every event", func() bool {
		batched, _, _ := rec.handled()
		return len(batched) >= len(want)
	})
	group := kafka.ConsumerGroup(f.cfg, "bulk")
	topics := []string{f.cfg.Topic(domain.ChannelTeacher), f.cfg.Topic(domain.ChannelStudent)}
	eventually(t, 10*time.Second, "offsets committed", func() bool { return f.committed(group, topics...) == int64(len(want)) })

	batched, single, calls := rec.handled()
	if len(single) != 0 {
		t.Errorf("Handle got %d events, want none (no batch failed)", len(single))
	}
	if len(batched) != len(want) {
		t.Errorf("handled %d events, want %d, each once", len(batched), len(want))
	}
	if calls >= len(want) {
		t.Errorf("%d calls of HandleBatch for %d waiting events: no batching", calls, len(want))
	}
	rec.mu.Lock()
	for _, es := range rec.batches {
		if len(es) > 4 {
			t.Errorf("a batch of %d events, more than MaxBatch", len(es))
		}
	}
	rec.mu.Unlock()
	byStream := map[string][]uint64{}
	for _, e := range batched {
		byStream[e.Stream] = append(byStream[e.Stream], e.Version)
	}
	for s, vs := range byStream {
		if !slices.Equal(vs, []uint64{1, 2, 3, 4, 5}) {
			t.Errorf("stream %s: versions %v, want 1..5 in order", s, vs)
		}
	}
	if got := metric(t, f, "kafka_consumer_messages_total", "handler", "bulk", "outcome", "ok"); got != float64(len(want)) {
		t.Errorf("kafka_consumer_messages_total{outcome=ok} = %v, want %d", got, len(want))
	}
	if got := metric(t, f, "kafka_consumer_handle_duration_seconds", "handler", "bulk"); got != float64(len(want)) {
		t.Errorf("kafka_consumer_handle_duration_seconds count = %v, want %d", got, len(want))
	}
}

// A batch that fails (here: panics) or holds an undecodable message is
// handled again one message at a time, with Handle's retries and dead
// letters: each message ends in one outcome, and the partition goes on.
func TestRouterHandlesAFailedBatchOneMessageAtATime(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	const key = "teacher-batch" // one partition
	good := []eventstore.RecordedEvent{
		testEvent(domain.TeacherDeactivatedType, key, 1),
		testEvent(domain.TeacherDeactivatedType, key, 2),
		testEvent(domain.TeacherDeactivatedType, key, 4),
		testEvent(domain.TeacherDeactivatedType, key, 6),
	}
	bad := testEvent(domain.TeacherDeactivatedType, key, 5)
	poison, err := f.cfg.ProducerMessage(testEvent(domain.TeacherDeactivatedType, key, 3))
	if err != nil {
		t.Fatal(err)
	}
	poison.Value = sarama.StringEncoder(`{"teacherId": oops`)

	f.publish(good[0], good[1])
	f.send(poison)
	f.publish(good[2], bad, good[3])

	rec := &batchRecorder{}
	f.run(kafka.RouterConfig{Retry: kafka.Retry{Attempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}},
		kafka.Handler{
			Name:     "strict",
			Channels: []domain.Channel{domain.ChannelTeacher},
			Handle: func(ctx context.Context, e kafka.Event) error {
				if e.ID == bad.ID {
					return kafka.Permanent(errors.New("cannot take this one"))
				}
				rec.single(e)
				return nil
			},
			HandleBatch: func(ctx context.Context, es []kafka.Event) error {
				for _, e := range es {
					if e.ID == bad.ID {
						var m map[string]int
						//lint:ignore SA5000 the panic of a bug is what is tested
						m["boom"]++
					}
				}
				rec.batch(es)
				return nil
			},
		})
	var ds []kafka.DeadLetter
	eventually(t, 30*time.Second, "2 dead letters", func() bool { ds = f.deadLetters(); return len(ds) >= 2 })
	eventually(t, 10*time.Second, "offsets committed", func() bool {
		return f.committed(kafka.ConsumerGroup(f.cfg, "strict"), f.cfg.Topic(domain.ChannelTeacher)) == 6
	})

	batched, single, _ := rec.handled()
	handled := map[uuid.UUID]bool{}
	for _, e := range append(batched, single...) {
		handled[e.ID] = true
	}
	for _, e := range good {
		if !handled[e.ID] {
			t.Errorf("version %d was not handled", e.Version)
		}
	}
	if handled[bad.ID] {
		t.Error("the failing event counts as handled")
	}
	// Handle took over at the first batch that could not be handled.
	if len(single) == 0 {
		t.Error("Handle was never called")
	}
	slices.SortFunc(ds, func(a, b kafka.DeadLetter) int { return int(a.Offset - b.Offset) })
	if len(ds) != 2 || ds[0].Offset != 2 || ds[0].Attempts != 0 || ds[1].EventID != bad.ID.String() || ds[1].Attempts != 1 {
		t.Errorf("dead letters %+v; want the poison (offset 2, no attempt) and the failing event (1 attempt)", ds)
	}
	for _, c := range []struct {
		outcome string
		want    float64
	}{{"ok", 4}, {"dead_lettered", 2}} {
		if got := metric(t, f, "kafka_consumer_messages_total", "handler", "strict", "outcome", c.outcome); got != c.want {
			t.Errorf("kafka_consumer_messages_total{outcome=%s} = %v, want %v", c.outcome, got, c.want)
		}
	}
}

// A handler's FetchWait makes a consumer configuration of its own and
// leaves the shared one unchanged; handlers with one (here one broker
// that answers at once) still get every event, through HandleBatch and
// through Handle alike.
func TestRouterHandlersWithAFetchWait(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	shared, err := f.cfg.ConsumerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	patient := kafka.ConsumerConfigFor(shared, kafka.Handler{FetchWait: 200 * time.Millisecond})
	if patient.Consumer.MaxWaitTime != 200*time.Millisecond || patient.Consumer.Fetch.Min != kafka.FetchWaitMinBytes {
		t.Errorf("fetch wait %s, min bytes %d; want 200ms and %d", patient.Consumer.MaxWaitTime, patient.Consumer.Fetch.Min, kafka.FetchWaitMinBytes)
	}
	if shared.Consumer.Fetch.Min != 1 || kafka.ConsumerConfigFor(shared, kafka.Handler{}) != shared {
		t.Error("a handler's fetch wait changed the shared configuration")
	}

	batches, singles := &batchRecorder{}, &batchRecorder{}
	f.run(kafka.RouterConfig{}, kafka.Handler{
		Name:      "patient_batches",
		Channels:  []domain.Channel{domain.ChannelTeacher},
		FetchWait: 200 * time.Millisecond,
		Handle:    func(ctx context.Context, e kafka.Event) error { batches.single(e); return nil },
		HandleBatch: func(ctx context.Context, es []kafka.Event) error {
			batches.batch(es)
			return nil
		},
	}, kafka.Handler{
		Name:      "patient_singles",
		Channels:  []domain.Channel{domain.ChannelTeacher},
		FetchWait: 200 * time.Millisecond,
		Handle:    func(ctx context.Context, e kafka.Event) error { singles.single(e); return nil },
	})
	var want []eventstore.RecordedEvent
	for i := range 20 {
		e := testEvent(domain.TeacherPreferencesUpdatedType, fmt.Sprintf("teacher-%d", i%5), uint64(i/5+1))
		want = append(want, e)
		f.publish(e) // one at a time, while the consumers run
	}
	eventually(t, 30*time.Second, "every event, to both handlers", func() bool {
		batched, _, _ := batches.handled()
		_, single, _ := singles.handled()
		return len(batched) == len(want) && len(single) == len(want)
	})
}
