package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// deadLetterCount counts the dead letters not yet re-driven, reading only
// what the dead-letter topic gained since its last read: monitoring asks
// every few seconds, and a full read (ListDeadLetters) grows with the
// topic, values and all. It keeps, per partition, the offset to read from
// next, and the dead letters still pending; also the redrive markers read
// before their letter (a marker may land in another partition than its
// letter), so that the letter is not counted when it comes. Whatever
// retention removes from the topic leaves both. One read at a time
// (sampled sees to it).
type deadLetterCount struct {
	cfg     Config
	next    map[int32]int64
	pending map[dlqRef]struct{}
	early   map[dlqRef]struct{} // markers whose letter was not read yet
}

// dlqRef is where a dead letter is in the dead-letter topic: a
// DeadLetter's Ref.
type dlqRef struct {
	partition int32
	offset    int64
}

func newDeadLetterCount(cfg Config) *deadLetterCount {
	c := &deadLetterCount{cfg: cfg}
	c.reset()
	return c
}

func (c *deadLetterCount) reset() {
	c.next = map[int32]int64{}
	c.pending = map[dlqRef]struct{}{}
	c.early = map[dlqRef]struct{}{}
}

// read brings the count up to the topic's end and returns it.
func (c *deadLetterCount) read(ctx context.Context) (int, error) {
	cfg := c.cfg
	cfg.setDefaults()
	sc, err := cfg.ConsumerSaramaConfig()
	if err != nil {
		return 0, err
	}
	monitoringTimeouts(sc)
	client, err := dlqClient(cfg, sc)
	if err != nil {
		return 0, err
	}
	defer client.Close()
	topic := cfg.DLQTopic()
	topics, err := client.Topics()
	if err != nil {
		return 0, fmt.Errorf("kafka: list topics: %w", err)
	}
	if !slices.Contains(topics, topic) {
		c.reset() // none; and if it comes back, it is a new topic
		return 0, nil
	}
	partitions, err := client.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("kafka: partitions of %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, fmt.Errorf("kafka: consumer of %s: %w", topic, err)
	}
	defer consumer.Close()
	for _, p := range partitions {
		if err := c.readPartition(ctx, client, consumer, topic, p); err != nil {
			return 0, err
		}
	}
	return len(c.pending), nil
}

// readPartition reads partition p from where the last read stopped. The
// state changes only once the partition is read to its end, so a read
// that fails part way is done again whole.
func (c *deadLetterCount) readPartition(ctx context.Context, client sarama.Client, consumer sarama.Consumer, topic string, p int32) error {
	oldest, end, err := partitionBounds(client, topic, p)
	if err != nil {
		return err
	}
	from := c.next[p] // 0 for a partition new to us: from its oldest
	if from > end {
		// Shorter than we read it: the topic was made again. What we knew
		// of this partition is void.
		c.forget(func(r dlqRef) bool { return r.partition == p })
		from = 0
	}
	from = max(from, oldest)
	var letters, markers []dlqRef
	err = readRange(ctx, consumer, topic, p, from, end, func(m *sarama.ConsumerMessage) {
		if of := headerOf(m.Headers, HeaderDLQRedriveOf); of != "" {
			// As ListDeadLetters reads it: a marker without where its
			// letter went re-drove nothing.
			if r, ok := parseRef(of); ok && headerOf(m.Headers, HeaderDLQRedrivenTo) != "" {
				markers = append(markers, r)
			}
			return
		}
		letters = append(letters, dlqRef{p, m.Offset})
	})
	if err != nil {
		return err
	}
	// Retention took what is below oldest: no longer the topic's, so no
	// longer counted, as a full read would not see it.
	c.forget(func(r dlqRef) bool { return r.partition == p && r.offset < oldest })
	for _, r := range letters {
		if _, redriven := c.early[r]; redriven {
			delete(c.early, r)
			continue
		}
		c.pending[r] = struct{}{}
	}
	c.next[p] = end
	for _, r := range markers {
		if _, ok := c.pending[r]; ok {
			delete(c.pending, r)
			continue
		}
		// Not pending: re-driven before, gone with retention, or not read
		// yet (in another partition). Only the last is kept for later.
		if r.offset >= c.next[r.partition] {
			c.early[r] = struct{}{}
		}
	}
	return nil
}

// forget drops the pending letters and early markers that drop selects.
func (c *deadLetterCount) forget(drop func(dlqRef) bool) {
	maps.DeleteFunc(c.pending, func(r dlqRef, _ struct{}) bool { return drop(r) })
	maps.DeleteFunc(c.early, func(r dlqRef, _ struct{}) bool { return drop(r) })
}

// parseRef reads a DeadLetter's Ref, "<partition>/<offset>".
func parseRef(ref string) (dlqRef, bool) {
	ps, os, ok := strings.Cut(ref, "/")
	if !ok {
		return dlqRef{}, false
	}
	p, err1 := strconv.ParseInt(ps, 10, 32)
	o, err2 := strconv.ParseInt(os, 10, 64)
	if err1 != nil || err2 != nil {
		return dlqRef{}, false
	}
	return dlqRef{int32(p), o}, true
}
