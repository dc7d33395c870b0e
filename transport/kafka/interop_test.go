package kafka_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// The interop tests read our messages with consumers that are not ours,
// configured only with what a downstream team would know: the broker, the
// topic and the CloudEvents Kafka binding.

// interopEvents publishes a few events on the teacher topic, one with no
// optional metadata, and returns them by event ID.
func interopEvents(t *testing.T, f *consumerFixture) map[string]eventstore.RecordedEvent {
	t.Helper()
	bare := testEvent(domain.TeacherDeactivatedType, "teacher-bare", 1)
	bare.Metadata = eventstore.Metadata{SchoolID: "school-2", ActorID: "actor-2"}
	events := []eventstore.RecordedEvent{
		testEvent(domain.TeacherPreferencesUpdatedType, "teacher-a", 1),
		testEvent(domain.TeacherDeactivatedType, "teacher-a", 2),
		bare,
	}
	f.publish(events...)
	byID := map[string]eventstore.RecordedEvent{}
	for _, e := range events {
		byID[e.ID.String()] = e
	}
	return byID
}

// checkCloudEvent compares a CloudEvent read by a foreign consumer with the
// stored event it came from.
func checkCloudEvent(t *testing.T, ev cloudevents.Event, want eventstore.RecordedEvent) {
	t.Helper()
	if err := ev.Validate(); err != nil {
		t.Errorf("event %s is not a valid CloudEvent: %v", ev.ID(), err)
	}
	if ev.SpecVersion() != "1.0" || ev.ID() != want.ID.String() || ev.Type() != "edusmarthub."+want.Type ||
		ev.Subject() != want.StreamID || ev.Source() != "/edusmarthub/schools/"+want.Metadata.SchoolID {
		t.Errorf("attributes %s %s %s %s %s; want 1.0 %s edusmarthub.%s %s /edusmarthub/schools/%s",
			ev.SpecVersion(), ev.ID(), ev.Type(), ev.Subject(), ev.Source(),
			want.ID, want.Type, want.StreamID, want.Metadata.SchoolID)
	}
	if !ev.Time().Equal(want.RecordedAt) {
		t.Errorf("time %s, want %s", ev.Time(), want.RecordedAt)
	}
	if ev.DataContentType() != "application/json" || ev.DataSchema() != kafka.SchemaURL(want.Type) {
		t.Errorf("datacontenttype %q dataschema %q", ev.DataContentType(), ev.DataSchema())
	}
	if u, err := url.Parse(ev.DataSchema()); err != nil || !u.IsAbs() {
		t.Errorf("dataschema %q is not an absolute URI", ev.DataSchema())
	}
	if string(ev.Data()) != string(want.Data) || !json.Valid(ev.Data()) {
		t.Errorf("data %s, want %s", ev.Data(), want.Data)
	}
	ext := ev.Extensions()
	wantExt := map[string]string{
		"schoolid":      want.Metadata.SchoolID,
		"streamversion": strconv.FormatUint(want.Version, 10),
		"position":      strconv.FormatUint(want.Position, 10),
		"partitionkey":  want.StreamID,
		"actorid":       want.Metadata.ActorID,
		"actorrole":     want.Metadata.ActorRole,
		"correlationid": want.Metadata.CorrelationID,
		"causationid":   want.Metadata.CausationID,
		"requestid":     want.Metadata.RequestID,
	}
	for k, w := range wantExt {
		v, ok := ext[k]
		switch {
		case w == "" && ok:
			t.Errorf("extension %s = %v, want it omitted (empty)", k, v)
		case w != "" && (!ok || v != w):
			t.Errorf("extension %s = %v, want %q", k, v, w)
		}
	}
}

// toCloudEvent reads a record's headers and value as the CloudEvents
// Kafka binding does.
func toCloudEvent(t *testing.T, key, value []byte, headers map[string][]byte) cloudevents.Event {
	t.Helper()
	msg := kafka_sarama.NewMessage(value, string(headers["content-type"]), headers)
	if enc := msg.ReadEncoding(); enc != binding.EncodingBinary {
		t.Fatalf("the binding sees encoding %v, want binary", enc)
	}
	ev, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		t.Fatalf("binding.ToEvent: %v", err)
	}
	if string(key) != ev.Subject() {
		t.Errorf("key %q, want the stream %q", key, ev.Subject())
	}
	return *ev
}

func TestInteropPlainSaramaConsumer(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	want := interopEvents(t, f)
	sc := sarama.NewConfig() // a stranger's defaults, not ours
	sc.Version = sarama.V3_6_0_0
	consumer, err := sarama.NewConsumer(f.cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	topic := f.cfg.Topic(domain.ChannelTeacher)
	partitions, err := consumer.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan *sarama.ConsumerMessage, 16)
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				msgs <- m
			}
		}()
	}
	for range want {
		select {
		case m := <-msgs:
			headers := map[string][]byte{}
			for _, h := range m.Headers {
				headers[string(h.Key)] = h.Value
			}
			ev := toCloudEvent(t, m.Key, m.Value, headers)
			checkCloudEvent(t, ev, want[ev.ID()])
		case <-time.After(20 * time.Second):
			t.Fatal("sarama consumer: timed out")
		}
	}
}

func TestInteropPlainFranzGoConsumer(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	want := interopEvents(t, f)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(f.cfg.Brokers...),
		kgo.ConsumerGroup("analytics-lake"),
		kgo.ConsumeTopics(f.cfg.Topic(domain.ChannelTeacher)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	seen := 0
	for seen < len(want) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("franz-go consumer: %v after %d records", err, seen)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Errorf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			headers := map[string][]byte{}
			for _, h := range r.Headers {
				headers[h.Key] = h.Value
			}
			ev := toCloudEvent(t, r.Key, r.Value, headers)
			checkCloudEvent(t, ev, want[ev.ID()])
		})
	}
}

func TestInteropCloudEventsSDKKafkaBinding(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	want := interopEvents(t, f)
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_6_0_0
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	consumer, err := kafka_sarama.NewConsumer(f.cfg.Brokers, sc, "analytics-ce", f.cfg.Topic(domain.ChannelTeacher))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close(context.Background())
	c, err := cloudevents.NewClient(consumer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]cloudevents.Event{}
	err = c.StartReceiver(ctx, func(ev cloudevents.Event) {
		mu.Lock()
		defer mu.Unlock()
		got[ev.ID()] = ev
		if len(got) == len(want) {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("the SDK received %d events, want %d", len(got), len(want))
	}
	for id, ev := range got {
		checkCloudEvent(t, ev, want[id])
	}
}
