package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// Consumer lag is what each group has not committed of its topics: all of
// a topic for a group that never committed, what follows its offsets for
// one that did, nothing once its consumer has caught up; a topic nobody
// published to holds nothing.
func TestLagReaderReadsEachGroupsLag(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	var landedOn [testPartitions]int64 // messages per partition of the teacher topic
	for i := range 12 {
		e := testEvent(domain.TeacherPreferencesUpdatedType, fmt.Sprintf("teacher-%d", i%4), uint64(i/4+1))
		for _, l := range f.publish(e) {
			landedOn[l.partition]++
		}
	}
	// Group "partial" has committed its busiest partition up to its end.
	busiest := int32(0)
	for p, n := range landedOn {
		if n > landedOn[busiest] {
			busiest = int32(p)
		}
	}
	commitTo(t, f, kafka.ConsumerGroup(f.cfg, "partial"), f.cfg.Topic(domain.ChannelTeacher), busiest, landedOn[busiest])

	l := kafka.NewLagReader(f.cfg)
	t.Cleanup(func() { _ = l.Close() })
	handlers := map[string][]domain.Channel{
		"new":      {domain.ChannelTeacher, domain.ChannelStudent},
		"partial":  {domain.ChannelTeacher},
		"students": {domain.ChannelStudent},
		"caught":   {domain.ChannelTeacher},
	}
	lag, err := l.Lag(t.Context(), handlers)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"new": 12, "partial": 12 - landedOn[busiest], "students": 0, "caught": 12} {
		if lag[name] != want {
			t.Errorf("lag of %s = %d, want %d (all: %v)", name, lag[name], want, lag)
		}
	}

	// A router's handler of that name consumes and commits: its lag is
	// read from the group the router uses.
	f.run(kafka.RouterConfig{}, kafka.Handler{
		Name:     "caught",
		Channels: []domain.Channel{domain.ChannelTeacher},
		Handle:   func(context.Context, kafka.Event) error { return nil },
	})
	eventually(t, 30*time.Second, "the handler's lag at 0", func() bool {
		lag, err := l.Lag(t.Context(), handlers)
		if err != nil {
			t.Fatal(err)
		}
		return lag["caught"] == 0 && lag["new"] == 12
	})
}

// Without a broker the reader fails rather than report no lag.
func TestLagReaderFailsWithoutABroker(t *testing.T) {
	t.Parallel()
	cfg := kafka.Config{Brokers: []string{"127.0.0.1:1"}}
	l := kafka.NewLagReader(cfg)
	t.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := l.Lag(ctx, map[string][]domain.Channel{"h": {domain.ChannelTeacher}}); err == nil {
		t.Fatal("lag without a broker: no error")
	}
}

// commitTo commits offset for group on one partition of topic, as a
// consumer outside any group generation (a "simple" commit) does.
func commitTo(t *testing.T, f *consumerFixture, group, topic string, partition int32, offset int64) {
	t.Helper()
	coordinator, err := saramaClient(t, f).Coordinator(group)
	if err != nil {
		t.Fatal(err)
	}
	req := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: group, ConsumerGroupGeneration: -1, RetentionTime: -1}
	req.AddBlock(topic, partition, offset, 0, "")
	resp, err := coordinator.CommitOffset(req)
	if err != nil {
		t.Fatal(err)
	}
	if kerr := resp.Errors[topic][partition]; kerr != sarama.ErrNoError {
		t.Fatalf("commit %s %s/%d at %d: %v", group, topic, partition, offset, kerr)
	}
}
