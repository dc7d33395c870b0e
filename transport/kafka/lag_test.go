package kafka_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// Consumer lag is what each group has not committed of its topics: all of
// a topic for a group that never committed, what follows its offsets for
// one that did, nothing once its consumer has caught up; a topic nobody
// published to holds nothing, nor one that does not exist; and what
// retention deleted is no longer lag.
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
	// On the busiest partition, group "partial" has committed all but the
	// last message, group "stale" none (offset 0).
	busiest := int32(0)
	for p, n := range landedOn {
		if n > landedOn[busiest] {
			busiest = int32(p)
		}
	}
	teacherTopic := f.cfg.Topic(domain.ChannelTeacher)
	commitTo(t, f, kafka.ConsumerGroup(f.cfg, "partial"), teacherTopic, busiest, landedOn[busiest]-1)
	commitTo(t, f, kafka.ConsumerGroup(f.cfg, "stale"), teacherTopic, busiest, 0)

	l := kafka.NewLagReader(f.cfg)
	t.Cleanup(func() { _ = l.Close() })
	handlers := map[string][]domain.Channel{
		"new":      {domain.ChannelTeacher, domain.ChannelStudent},
		"partial":  {domain.ChannelTeacher},
		"students": {domain.ChannelStudent},
		"caught":   {domain.ChannelTeacher},
		"stale":    {domain.ChannelTeacher},
	}
	wantLag := func(want map[string]int64) {
		t.Helper()
		lag, err := l.Lag(t.Context(), handlers)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			if lag[name] != w {
				t.Errorf("lag of %s = %d, want %d (all: %v)", name, lag[name], w, lag)
			}
		}
	}
	wantLag(map[string]int64{"new": 12, "partial": 12 - landedOn[busiest] + 1, "students": 0, "caught": 12, "stale": 12})

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

	// Retention deletes the busiest partition's first two messages: they
	// are no one's lag any more, whatever a group committed before them.
	admin, err := sarama.NewClusterAdminFromClient(saramaClient(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteRecords(teacherTopic, map[int32]int64{busiest: 2}); err != nil {
		t.Fatal(err)
	}
	wantLag(map[string]int64{"new": 10, "stale": 10, "partial": 12 - landedOn[busiest] + 1, "caught": 0})

	// Topics that do not exist hold nothing.
	elsewhere := kafka.NewLagReader(kafka.Config{Brokers: f.cfg.Brokers, TopicPrefix: "elsewhere"})
	t.Cleanup(func() { _ = elsewhere.Close() })
	lag, err := elsewhere.Lag(t.Context(), map[string][]domain.Channel{"h": {domain.ChannelTeacher}})
	if err != nil || lag["h"] != 0 {
		t.Errorf("lag on topics that do not exist: %v, %v; want 0", lag, err)
	}
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

// A broker that takes connections and never answers holds sarama's calls
// for minutes; monitoring's figures still answer within seconds, saying
// that Kafka has not answered.
func TestMonitoringFiguresAnswerWhileKafkaHangs(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { // ends the background read: its connections close
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	cfg := kafka.Config{Brokers: []string{ln.Addr().String()}}
	count := kafka.PendingDeadLetters(cfg, time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := count(ctx); err == nil || !strings.Contains(err.Error(), "no answer yet") || ctx.Err() != nil {
		t.Fatalf("dead letters from a silent broker: %v; want the no-answer error before the test's deadline", err)
	}
	// The lag reader on its own (no cache in front) gives up in seconds
	// too, with an error: its timeouts are short.
	l := kafka.NewLagReader(cfg)
	defer l.Close()
	if _, err := l.Lag(ctx, map[string][]domain.Channel{"h": {domain.ChannelTeacher}}); err == nil || ctx.Err() != nil {
		t.Fatalf("lag from a silent broker: %v; want an error before the test's deadline", err)
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
