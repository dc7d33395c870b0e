package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func TestDeadLettersListAndRedriveRoundTrip(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	ctx := t.Context()
	topic := f.cfg.Topic(domain.ChannelTeacher)

	// Two handlers refuse p (a bug later fixed), one refuses q: three dead
	// letters, two of them for the same event.
	p := testEvent(domain.TeacherDeactivatedType, "teacher-p", 1)
	q := testEvent(domain.TeacherDeactivatedType, "teacher-q", 1)
	var fixed atomic.Bool
	recs := map[string]*recorder{"audit": newRecorder(), "search": newRecorder()}
	handler := func(name string) kafka.Handler {
		return kafka.Handler{
			Name:     name,
			Channels: []domain.Channel{domain.ChannelTeacher},
			Handle: func(ctx context.Context, e kafka.Event) error {
				switch {
				case e.ID == p.ID && !fixed.Load(), e.ID == q.ID && name == "search" && !fixed.Load():
					return kafka.Permanent(errors.New("bug 42"))
				}
				recs[name].add(ctx, e)
				return nil
			},
		}
	}
	f.run(kafka.RouterConfig{}, handler("audit"), handler("search"))
	origin := f.publish(p, q)

	var ds []kafka.DeadLetter
	eventually(t, 30*time.Second, "three dead letters", func() bool { ds = f.deadLetters(); return len(ds) >= 3 })
	if len(ds) != 3 {
		t.Fatalf("%d dead letters, want 3", len(ds))
	}
	for _, d := range ds {
		want := origin[0]
		if d.EventID == q.ID.String() {
			want = origin[1]
		}
		if d.Topic != topic || d.Partition != want.partition || d.Offset != want.offset || d.Redriven() || d.Ref == "" {
			t.Errorf("dead letter %+v: want origin %+v, pending", d, want)
		}
	}
	// Monitoring's count: the pending ones, read again once maxAge passed.
	fresh, cached := kafka.PendingDeadLetters(f.cfg, 0), kafka.PendingDeadLetters(f.cfg, time.Hour)
	pending := func(count func(context.Context) (int, error)) int {
		t.Helper()
		n, err := count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n, m := pending(fresh), pending(cached); n != 3 || m != 3 {
		t.Errorf("pending dead letters counted %d and %d, want 3", n, m)
	}

	t.Run("unknown IDs fail before anything is published", func(t *testing.T) {
		before := endOffsets(t, f, topic)
		_, err := kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{IDs: []string{p.ID.String(), "no-such-id"}})
		if err == nil || !strings.Contains(err.Error(), "no-such-id") {
			t.Fatalf("error %v, want one naming no-such-id", err)
		}
		if after := endOffsets(t, f, topic); !slices.Equal(before, after) {
			t.Errorf("topic changed from %v to %v", before, after)
		}
	})
	t.Run("dry run publishes nothing", func(t *testing.T) {
		before := endOffsets(t, f, topic)
		res, err := kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Redriven) != 3 || res.Redriven[0].To != "" {
			t.Errorf("dry run: %+v", res)
		}
		if after := endOffsets(t, f, topic); !slices.Equal(before, after) {
			t.Errorf("topic changed from %v to %v", before, after)
		}
		if n := len(pendingOf(f.deadLetters())); n != 3 {
			t.Errorf("%d pending after a dry run, want 3", n)
		}
	})

	fixed.Store(true)
	t.Run("redrive by event ID re-publishes the event once", func(t *testing.T) {
		res, err := kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{IDs: []string{p.ID.String()}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Redriven) != 2 || len(res.Skipped) != 0 {
			t.Fatalf("redrive: %+v", res)
		}
		var to []string
		for _, r := range res.Redriven {
			if r.To != "" {
				to = append(to, r.To)
			}
		}
		if len(to) != 1 {
			t.Fatalf("p re-published %d times (%v), want once", len(to), to)
		}
		// The re-published message is the original: key, value, headers,
		// partition; no dlq_ header.
		orig, err := f.cfg.ProducerMessage(p)
		if err != nil {
			t.Fatal(err)
		}
		got := readAt(t, f, to[0])
		wantValue, _ := orig.Value.Encode()
		if string(got.Key) != p.StreamID || string(got.Value) != string(wantValue) || got.Partition != origin[0].partition {
			t.Errorf("re-published key %q partition %d value %s; want %q %d %s", got.Key, got.Partition, got.Value, p.StreamID, origin[0].partition, wantValue)
		}
		var hs []string
		for _, h := range got.Headers {
			hs = append(hs, string(h.Key)+"="+string(h.Value))
		}
		var want []string
		for _, h := range orig.Headers {
			want = append(want, string(h.Key)+"="+string(h.Value))
		}
		slices.Sort(hs)
		slices.Sort(want)
		if !slices.Equal(hs, want) {
			t.Errorf("re-published headers\n%v\nwant\n%v", hs, want)
		}
		// Both handlers get it again, this time successfully.
		eventually(t, 30*time.Second, "both handlers to handle p", func() bool {
			return recs["audit"].has(p.ID) && recs["search"].has(p.ID)
		})
	})
	t.Run("a second redrive skips what was re-driven", func(t *testing.T) {
		before := endOffsets(t, f, topic)
		res, err := kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{IDs: []string{p.ID.String()}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Redriven) != 0 || len(res.Skipped) != 2 {
			t.Errorf("second redrive: %+v", res)
		}
		if after := endOffsets(t, f, topic); !slices.Equal(before, after) {
			t.Errorf("topic changed from %v to %v", before, after)
		}
		ds := f.deadLetters()
		if len(ds) != 3 || len(pendingOf(ds)) != 1 || pendingOf(ds)[0].EventID != q.ID.String() {
			t.Errorf("after the redrive of p: %+v", ds)
		}
		if n, m := pending(fresh), pending(cached); n != 1 || m != 3 {
			t.Errorf("pending dead letters counted %d, and %d within maxAge; want 1 and the earlier 3", n, m)
		}
	})
	t.Run("redrive of all takes the rest, by ref", func(t *testing.T) {
		ref := pendingOf(f.deadLetters())[0].Ref
		res, err := kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{IDs: []string{ref}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Redriven) != 1 || res.Redriven[0].EventID != q.ID.String() {
			t.Errorf("redrive %s: %+v", ref, res)
		}
		res, err = kafka.RedriveDeadLetters(ctx, f.cfg, kafka.RedriveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Redriven) != 0 || len(res.Skipped) != 3 {
			t.Errorf("redrive of all, all done before: %+v", res)
		}
		eventually(t, 30*time.Second, "search to handle q", func() bool { return recs["search"].has(q.ID) })
		if n := len(pendingOf(f.deadLetters())); n != 0 {
			t.Errorf("%d pending, want 0", n)
		}
	})
}

func TestRedriveRefusesATopicThatIsNotOurs(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	f.send(&sarama.ProducerMessage{
		Topic: f.cfg.DLQTopic(),
		Value: sarama.StringEncoder(`{}`),
		Headers: []sarama.RecordHeader{
			{Key: []byte(kafka.HeaderDLQTopic), Value: []byte("payroll.salaries")},
			{Key: []byte(kafka.HeaderDLQError), Value: []byte("forged")},
		},
	})
	_, err := kafka.RedriveDeadLetters(t.Context(), f.cfg, kafka.RedriveOptions{})
	if err == nil || !strings.Contains(err.Error(), `"payroll.salaries" is not a topic of this service`) {
		t.Fatalf("error %v", err)
	}
}

func TestListDeadLettersOfAnEmptyOrMissingTopic(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	if ds := f.deadLetters(); len(ds) != 0 {
		t.Errorf("fresh DLQ: %+v", ds)
	}
	missing := f.cfg
	missing.TopicPrefix = "nobody"
	ds, err := kafka.ListDeadLetters(t.Context(), missing)
	if err != nil || len(ds) != 0 {
		t.Errorf("missing DLQ topic: %v, %+v", err, ds)
	}
}

func pendingOf(ds []kafka.DeadLetter) []kafka.DeadLetter {
	var out []kafka.DeadLetter
	for _, d := range ds {
		if !d.Redriven() {
			out = append(out, d)
		}
	}
	return out
}

// endOffsets are the topic's partitions' end offsets.
func endOffsets(t *testing.T, f *consumerFixture, topic string) []int64 {
	t.Helper()
	client := saramaClient(t, f)
	var out []int64
	for p := range int32(testPartitions) {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, off)
	}
	return out
}

// readAt reads the message at "<topic>/<partition>/<offset>".
func readAt(t *testing.T, f *consumerFixture, at string) *sarama.ConsumerMessage {
	t.Helper()
	parts := strings.Split(at, "/")
	if len(parts) != 3 {
		t.Fatalf("bad coordinates %q", at)
	}
	var p int32
	var off int64
	if _, err := fmt.Sscan(parts[1], &p); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(parts[2], &off); err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(saramaClient(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(parts[0], p, off)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		return m
	case err := <-pc.Errors():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing at %s", at)
	}
	return nil
}

func saramaClient(t *testing.T, f *consumerFixture) sarama.Client {
	t.Helper()
	sc, err := f.cfg.ConsumerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(f.cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestRedriveSendsARelayDeadLetterToItsTypesTopic(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	// The relay dead-letters an event whose type its build does not know:
	// no dlq_topic. A build that knows the type re-drives it to the type's
	// channel; one that does not refuses.
	relayed := func(typ string) kafka.DeadLetter {
		e := testEvent(domain.TeacherDeactivatedType, "teacher-new", 1)
		pm, err := f.cfg.ProducerMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		pm.Topic = f.cfg.DLQTopic()
		for i, h := range pm.Headers {
			if string(h.Key) == kafka.HeaderType {
				pm.Headers[i].Value = []byte(kafka.TypePrefix + typ)
			}
		}
		pm.Headers = append(pm.Headers,
			sarama.RecordHeader{Key: []byte(kafka.HeaderDLQError), Value: []byte("unknown type")},
			sarama.RecordHeader{Key: []byte(kafka.HeaderDLQHandler), Value: []byte("relay")})
		f.send(pm)
		return kafka.DeadLetter{EventID: e.ID.String()}
	}
	known := relayed(domain.TeacherDeactivatedType)
	unknown := relayed("teacher.promoted.v9")

	_, err := kafka.RedriveDeadLetters(t.Context(), f.cfg, kafka.RedriveOptions{IDs: []string{unknown.EventID}})
	if err == nil || !strings.Contains(err.Error(), "teacher.promoted.v9") {
		t.Errorf("redrive of an unknown type: %v", err)
	}
	res, err := kafka.RedriveDeadLetters(t.Context(), f.cfg, kafka.RedriveOptions{IDs: []string{known.EventID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Redriven) != 1 || !strings.HasPrefix(res.Redriven[0].To, f.cfg.Topic(domain.ChannelTeacher)+"/") {
		t.Fatalf("redrive: %+v", res)
	}
	if m := readAt(t, f, res.Redriven[0].To); header(headersOf(m), kafka.HeaderID) != known.EventID {
		t.Errorf("re-driven message %+v", m)
	}
}

func headersOf(m *sarama.ConsumerMessage) []sarama.RecordHeader {
	out := make([]sarama.RecordHeader, 0, len(m.Headers))
	for _, h := range m.Headers {
		out = append(out, *h)
	}
	return out
}
