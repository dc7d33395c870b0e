package kafka

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The count follows the topic as a full read (ListDeadLetters) would see
// it: letters in, markers out (also a marker read before its letter, in
// another partition), retention's deletions out. And each read fetches
// only what the topic gained since the last one.
func TestDeadLetterCountReadsWhatTheTopicGained(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := Config{Partitions: 3}
	cfg.setDefaults()
	var (
		mu      sync.Mutex
		fetched = map[int32][]int64{} // the offsets asked for, by partition
	)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, cfg.DLQTopic()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cluster.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range req.(*kmsg.FetchRequest).Topics {
			for _, p := range tp.Partitions {
				fetched[p.Partition] = append(fetched[p.Partition], p.FetchOffset)
			}
		}
		return nil, nil, false // observed; the cluster answers as usual
	})
	cfg.Brokers = cluster.ListenAddrs()

	sc, err := cfg.ProducerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Producer.Idempotent = false // its sequence numbers would not survive the topic made again
	producer, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = producer.Close() })
	write := func(p int32, redriveOf string) dlqRef {
		t.Helper()
		m := &sarama.ProducerMessage{Topic: cfg.DLQTopic(), Partition: p, Value: sarama.StringEncoder("x")}
		if redriveOf != "" {
			m.Value = nil
			m.Headers = []sarama.RecordHeader{
				{Key: []byte(HeaderDLQRedriveOf), Value: []byte(redriveOf)},
				{Key: []byte(HeaderDLQRedrivenTo), Value: []byte("edusmarthub.teacher/0/0")},
			}
		}
		_, off, err := producer.SendMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		return dlqRef{p, off}
	}
	ref := func(r dlqRef) string { return strconv.Itoa(int(r.partition)) + "/" + strconv.FormatInt(r.offset, 10) }

	c := newDeadLetterCount(cfg)
	wantCount := func(step string, want int) {
		t.Helper()
		n, err := c.read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		full, err := ListDeadLetters(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, d := range full {
			if !d.Redriven() {
				pending++
			}
		}
		if n != want || pending != want {
			t.Fatalf("%s: counted %d pending, a full read %d; want %d", step, n, pending, want)
		}
	}

	wantCount("empty topic", 0)
	a, b := write(0, ""), write(0, "")
	write(1, "")
	wantCount("three letters", 3)
	write(2, ref(b))
	wantCount("b re-driven, its marker in another partition", 2)
	// A marker read before its letter: partition 0 is read before 1.
	write(0, ref(dlqRef{1, 1}))
	write(1, "")
	wantCount("a letter whose marker came first", 2)
	if n, err := newDeadLetterCount(cfg).read(ctx); n != 2 || err != nil {
		t.Fatalf("a new count (the service restarted) reads the same topic as %d, %v; want 2", n, err)
	}

	write(1, "")
	mu.Lock()
	clear(fetched)
	mu.Unlock()
	if _, err := c.read(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for p, offsets := range fetched {
		for _, o := range offsets {
			if p != 1 || o < 2 {
				t.Errorf("after one new letter at 1/2, partition %d was fetched from offset %d; want only 1 from 2", p, o)
			}
		}
	}
	if len(fetched[1]) == 0 {
		t.Error("the new letter at 1/2 was not fetched")
	}
	mu.Unlock()
	wantCount("one more letter", 3)

	// Retention removes a: it is no one's to re-drive any more.
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	retain := func(p int32, from int64) {
		t.Helper()
		if err := admin.DeleteRecords(cfg.DLQTopic(), map[int32]int64{p: from}); err != nil {
			t.Fatal(err)
		}
	}
	retain(a.partition, a.offset+1)
	wantCount("a removed by retention", 2)
	// Retention removes b's marker (in partition 2): b waits again.
	retain(2, 1)
	wantCount("b's marker removed by retention", 3)
	// And then b itself.
	retain(0, 2)
	wantCount("b removed by retention", 2)
	// And the marker that came before its letter (0/2): that letter (1/1)
	// waits again.
	retain(0, 3)
	wantCount("an early marker removed by retention", 3)

	// The topic made again, as many partitions, each as long as it was:
	// only its new ID tells.
	if err := admin.DeleteTopic(cfg.DLQTopic()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the topic made again", func() error {
		return admin.CreateTopic(cfg.DLQTopic(), &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false)
	})
	for p, n := range map[int32]int{0: 3, 1: 3, 2: 1} {
		for range n {
			write(p, "")
		}
	}
	wantCount("the topic made again, as long as before", 7)

	// Made again with fewer partitions, and gone.
	if err := admin.DeleteTopic(cfg.DLQTopic()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the topic made again", func() error {
		return admin.CreateTopic(cfg.DLQTopic(), &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
	})
	write(0, "")
	wantCount("the topic made again with one partition, one letter", 1)
	if err := admin.DeleteTopic(cfg.DLQTopic()); err != nil {
		t.Fatal(err)
	}
	wantCount("no topic", 0)
}

// eventually retries try for a few seconds, until it succeeds.
func eventually(t *testing.T, what string, try func() error) {
	t.Helper()
	var err error
	for range 50 {
		if err = try(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}
