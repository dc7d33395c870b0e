package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// deadLetterCount counts the dead letters not yet re-driven, as a full
// read (ListDeadLetters) would, while reading only what the dead-letter
// topic gained since its last read: monitoring asks every few seconds,
// and a full read grows with the topic, values and all.
//
// It keeps, per partition, the offset to read from next and the oldest
// offset retained, and the letters it read: pending, or re-driven by the
// markers it read. A marker may land in another partition than its letter
// (a letter without a key, partitions added), so markers read before
// their letter are kept too, and the letter is re-driven when it comes.
// What retention removes is forgotten: a letter, or a marker, whose letter
// is then pending again unless another marker re-drove it. A topic made
// again (a new topic ID, fewer partitions, or a partition shorter than
// read or older than retention left it) starts the count over. One read
// at a time (sampled sees to it).
type deadLetterCount struct {
	cfg      Config
	topicID  sarama.Uuid
	next     map[int32]int64 // offset to read from
	oldest   map[int32]int64 // oldest offset retained, at the last read
	pending  map[dlqRef]struct{}
	redriven map[dlqRef][]dlqRef // letter -> the markers that re-drove it
	early    map[dlqRef][]dlqRef // letter not read yet -> its markers
}

// dlqRef is a position in the dead-letter topic (a DeadLetter's Ref).
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
	c.topicID = sarama.Uuid{}
	c.next, c.oldest = map[int32]int64{}, map[int32]int64{}
	c.pending = map[dlqRef]struct{}{}
	c.redriven, c.early = map[dlqRef][]dlqRef{}, map[dlqRef][]dlqRef{}
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
	admin, err := sarama.NewClusterAdminFromClient(client) // closing it would close client
	if err != nil {
		return 0, fmt.Errorf("kafka: describe %s: %w", topic, err)
	}
	mds, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return 0, fmt.Errorf("kafka: describe %s: %w", topic, err)
	}
	if len(mds) != 1 {
		return 0, fmt.Errorf("kafka: describe %s: %d topics in the answer", topic, len(mds))
	}
	md := mds[0]
	switch {
	case errors.Is(md.Err, sarama.ErrUnknownTopicOrPartition):
		c.reset() // no letters; and if it comes back, it is a new topic
		return 0, nil
	case md.Err != sarama.ErrNoError:
		return 0, fmt.Errorf("kafka: describe %s: %w", topic, md.Err)
	}
	all, err := partitionRanges(ctx, client, []string{topic})
	if err != nil {
		return 0, err
	}
	ranges := all[topic]
	if c.madeAgain(md.Uuid, ranges) {
		c.reset()
	}
	c.topicID = md.Uuid
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, fmt.Errorf("kafka: consumer of %s: %w", topic, err)
	}
	defer consumer.Close()
	for _, p := range slices.Sorted(maps.Keys(ranges)) { // the same order every read
		if err := c.readPartition(ctx, consumer, topic, p, ranges[p]); err != nil {
			return 0, err
		}
	}
	// Markers waiting for a letter where the partition was read past
	// without one: not a letter's place (another marker, say). Their
	// letter will never come.
	maps.DeleteFunc(c.early, func(l dlqRef, _ []dlqRef) bool {
		next, read := c.next[l.partition]
		return read && l.offset < next
	})
	return len(c.pending), nil
}

// madeAgain reports whether the topic is not the one read last time: its
// ID changed (brokers that give one), or a partition read before is gone,
// shorter than read, or holds offsets retention had removed.
func (c *deadLetterCount) madeAgain(id sarama.Uuid, ranges map[int32]partitionRange) bool {
	if id != (sarama.Uuid{}) && c.topicID != (sarama.Uuid{}) && id != c.topicID {
		return true
	}
	for p, next := range c.next {
		if r, ok := ranges[p]; !ok || next > r.end || r.oldest < c.oldest[p] {
			return true
		}
	}
	return false
}

// readPartition reads partition p from where the last read stopped to
// end, then forgets what retention removed below oldest. The count's
// state changes only once the partition is read, so a read that fails
// part way is done again whole.
func (c *deadLetterCount) readPartition(ctx context.Context, consumer sarama.Consumer, topic string, p int32, r partitionRange) error {
	oldest, end := r.oldest, r.end
	var letters, markers []dlqRef
	var redriveOf []dlqRef // markers[i] re-drove redriveOf[i]
	err := readRange(ctx, consumer, topic, p, max(c.next[p], oldest), end, func(m *sarama.ConsumerMessage) {
		if of := headerOf(m.Headers, HeaderDLQRedriveOf); of != "" {
			// As ListDeadLetters reads it: a marker without where its
			// letter went re-drove nothing.
			if r, ok := parseRef(of); ok && headerOf(m.Headers, HeaderDLQRedrivenTo) != "" {
				markers = append(markers, dlqRef{p, m.Offset})
				redriveOf = append(redriveOf, r)
			}
			return
		}
		letters = append(letters, dlqRef{p, m.Offset})
	})
	if err != nil {
		return err
	}
	c.next[p] = end
	for _, l := range letters {
		if ms, ok := c.early[l]; ok {
			delete(c.early, l)
			c.redriven[l] = ms
			continue
		}
		c.pending[l] = struct{}{}
	}
	for i, m := range markers {
		l := redriveOf[i]
		switch _, pending := c.pending[l]; {
		case pending:
			delete(c.pending, l)
			c.redriven[l] = []dlqRef{m}
		case c.redriven[l] != nil:
			c.redriven[l] = append(c.redriven[l], m)
		case l.offset >= c.next[l.partition]:
			c.early[l] = append(c.early[l], m) // its letter is still to be read
		}
		// Else its letter is gone (retention) or was never there.
	}
	if prev, ok := c.oldest[p]; !ok || oldest > prev {
		c.retained(p, oldest)
	}
	c.oldest[p] = oldest
	return nil
}

// retained forgets what retention removed from partition p, below
// oldest: the letters there, and the markers there, whose letters are
// pending again if no other marker re-drove them.
func (c *deadLetterCount) retained(p int32, oldest int64) {
	gone := func(r dlqRef) bool { return r.partition == p && r.offset < oldest }
	maps.DeleteFunc(c.pending, func(l dlqRef, _ struct{}) bool { return gone(l) })
	maps.DeleteFunc(c.early, func(l dlqRef, _ []dlqRef) bool { return gone(l) })
	maps.DeleteFunc(c.redriven, func(l dlqRef, _ []dlqRef) bool { return gone(l) })
	for l, ms := range c.early {
		if ms = slices.DeleteFunc(ms, gone); len(ms) == 0 {
			delete(c.early, l)
		} else {
			c.early[l] = ms
		}
	}
	for l, ms := range c.redriven {
		if ms = slices.DeleteFunc(ms, gone); len(ms) == 0 {
			delete(c.redriven, l)
			c.pending[l] = struct{}{}
		} else {
			c.redriven[l] = ms
		}
	}
}

// parseRef reads a DeadLetter's Ref, "<partition>/<offset>", written as
// parseDeadLetter writes it (a full read matches the text).
func parseRef(ref string) (dlqRef, bool) {
	ps, os, ok := strings.Cut(ref, "/")
	if !ok {
		return dlqRef{}, false
	}
	p, err1 := strconv.ParseInt(ps, 10, 32)
	o, err2 := strconv.ParseInt(os, 10, 64)
	r := dlqRef{int32(p), o}
	return r, err1 == nil && err2 == nil && r.String() == ref
}

// String is the Ref of the dead letter at r.
func (r dlqRef) String() string { return fmt.Sprintf("%d/%d", r.partition, r.offset) }
