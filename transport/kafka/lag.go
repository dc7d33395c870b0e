package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/IBM/sarama"

	"github.com/edusmarthub/edusmarthub/domain"
)

// LagReader reads how far consumer groups are behind on their topics: the
// consumer lag Kafka's own tools report (kafka-consumer-groups.sh
// --describe). Per partition it is the end offset minus the group's
// committed offset; a group that never committed starts from the oldest
// offset (ConsumerSaramaConfig), so its lag is all that is retained.
// Groups commit about once a second (the consumers' auto-commit), so a
// group that keeps up shows up to a second of messages.
//
// It keeps one connection for all its calls, opened on first use and
// again after a failure, with short timeouts (monitoringTimeouts): it is
// for monitoring, which must answer while Kafka is in trouble. Safe for
// concurrent use.
type LagReader struct {
	cfg Config
	mu  sync.Mutex // one read at a time

	cmu    sync.Mutex // guards conn and closed; never held over a network call
	conn   *lagConn
	closed bool
}

// lagConn is a LagReader's connection.
type lagConn struct {
	client sarama.Client
	admin  sarama.ClusterAdmin // over client: not closed on its own (that closes client)
}

// errLagReaderClosed is the error of Lag after Close.
var errLagReaderClosed = errors.New("kafka: lag reader closed")

// NewLagReader returns a reader of consumer lag on cfg's cluster. It
// connects on its first call; Close it when done.
func NewLagReader(cfg Config) *LagReader {
	cfg.setDefaults()
	return &LagReader{cfg: cfg}
}

// Lag returns, for each handler (by name) of handlers, the messages on
// the topics of its channels that its consumer group (ConsumerGroup) has
// not committed yet. A topic that does not exist yet holds nothing.
func (l *LagReader) Lag(ctx context.Context, handlers map[string][]domain.Channel) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.connect()
	if err != nil {
		return nil, err
	}
	out, err := l.lag(ctx, c, handlers)
	if err != nil {
		// The connection may be what failed: the next call reconnects.
		l.drop(c)
	}
	return out, err
}

// connect returns the open connection, or opens one.
func (l *LagReader) connect() (*lagConn, error) {
	l.cmu.Lock()
	c, closed := l.conn, l.closed
	l.cmu.Unlock()
	switch {
	case closed:
		return nil, errLagReaderClosed
	case c != nil:
		return c, nil
	}
	sc, err := l.cfg.AdminSaramaConfig()
	if err != nil {
		return nil, err
	}
	monitoringTimeouts(sc)
	client, err := sarama.NewClient(l.cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(l.cfg.Brokers, ","), err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	c = &lagConn{client: client, admin: admin}
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if l.closed { // closed while connecting
		_ = client.Close()
		return nil, errLagReaderClosed
	}
	l.conn = c
	return c, nil
}

// drop closes c and forgets it, unless Close took it first and closes it
// itself: two overlapping sarama Client.Close calls can panic.
func (l *LagReader) drop(c *lagConn) {
	l.cmu.Lock()
	owned := l.conn == c
	if owned {
		l.conn = nil
	}
	l.cmu.Unlock()
	if owned {
		_ = c.client.Close()
	}
}

// partitionRange is a partition's retained offsets: [oldest, end).
type partitionRange struct{ oldest, end int64 }

func (l *LagReader) lag(ctx context.Context, c *lagConn, handlers map[string][]domain.Channel) (map[string]int64, error) {
	if err := c.client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("kafka: metadata: %w", err)
	}
	existing, err := c.client.Topics()
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	// Each topic's partitions and their ends, read once for all groups.
	var topics []string
	for _, chs := range handlers {
		for _, ch := range chs {
			if topic := l.cfg.Topic(ch); slices.Contains(existing, topic) && !slices.Contains(topics, topic) {
				topics = append(topics, topic)
			}
		}
	}
	ranges, err := partitionRanges(ctx, c.client, topics)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(handlers))
	for name, chs := range handlers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		asked := map[string][]int32{}
		for _, ch := range chs {
			topic := l.cfg.Topic(ch)
			for p := range ranges[topic] {
				asked[topic] = append(asked[topic], p)
			}
		}
		if len(asked) == 0 {
			out[name] = 0
			continue
		}
		group := ConsumerGroup(l.cfg, name)
		committed, err := c.admin.ListConsumerGroupOffsets(group, asked)
		switch {
		case errors.Is(err, sarama.ErrGroupIDNotFound):
			// A group no one has joined yet (Kafka answers with no
			// offsets, some brokers with this): it starts at the oldest.
			committed = nil
		case err != nil: // the group's own error included
			return nil, fmt.Errorf("kafka: offsets of consumer group %s: %w", group, err)
		}
		var lag int64
		for topic, ps := range asked {
			for _, p := range ps {
				r := ranges[topic][p]
				from := r.oldest // never committed: it starts at the oldest
				if b := committedBlock(committed, topic, p); b != nil {
					if b.Err != sarama.ErrNoError {
						return nil, fmt.Errorf("kafka: offset of consumer group %s on %s/%d: %w", group, topic, p, b.Err)
					}
					if b.Offset >= 0 {
						from = max(b.Offset, r.oldest) // retention may have passed it
					}
				}
				lag += max(r.end-from, 0)
			}
		}
		out[name] = lag
	}
	return out, nil
}

// committedBlock is the group's offset on topic/p (nil: none committed).
func committedBlock(r *sarama.OffsetFetchResponse, topic string, p int32) *sarama.OffsetFetchResponseBlock {
	if r == nil {
		return nil
	}
	return r.GetBlock(topic, p)
}

// partitionRanges reads the retained offsets of every partition of
// topics, in two requests per partition leader (the oldest offsets and the
// ends), not two per partition.
func partitionRanges(ctx context.Context, client sarama.Client, topics []string) (map[string]map[int32]partitionRange, error) {
	type leader struct {
		broker         *sarama.Broker
		oldest, newest *sarama.OffsetRequest
		partitions     map[string][]int32
	}
	version := client.Config().Version
	leaders := map[int32]*leader{}
	for _, topic := range topics {
		ps, err := client.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("kafka: partitions of %s: %w", topic, err)
		}
		for _, p := range ps {
			b, err := client.Leader(topic, p)
			if err != nil {
				return nil, fmt.Errorf("kafka: leader of %s/%d: %w", topic, p, err)
			}
			ld := leaders[b.ID()]
			if ld == nil {
				ld = &leader{broker: b, oldest: sarama.NewOffsetRequest(version), newest: sarama.NewOffsetRequest(version),
					partitions: map[string][]int32{}}
				leaders[b.ID()] = ld
			}
			ld.oldest.AddBlock(topic, p, sarama.OffsetOldest, 1)
			ld.newest.AddBlock(topic, p, sarama.OffsetNewest, 1)
			ld.partitions[topic] = append(ld.partitions[topic], p)
		}
	}
	out := make(map[string]map[int32]partitionRange, len(topics))
	for _, ld := range leaders {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		oldest, err := ld.broker.GetAvailableOffsets(ld.oldest)
		if err != nil {
			return nil, fmt.Errorf("kafka: oldest offsets from broker %d: %w", ld.broker.ID(), err)
		}
		newest, err := ld.broker.GetAvailableOffsets(ld.newest)
		if err != nil {
			return nil, fmt.Errorf("kafka: end offsets from broker %d: %w", ld.broker.ID(), err)
		}
		for topic, ps := range ld.partitions {
			if out[topic] == nil {
				out[topic] = map[int32]partitionRange{}
			}
			for _, p := range ps {
				o, err := offsetOf(oldest, topic, p)
				if err != nil {
					return nil, fmt.Errorf("kafka: oldest offset of %s/%d: %w", topic, p, err)
				}
				e, err := offsetOf(newest, topic, p)
				if err != nil {
					return nil, fmt.Errorf("kafka: end offset of %s/%d: %w", topic, p, err)
				}
				out[topic][p] = partitionRange{oldest: o, end: e}
			}
		}
	}
	return out, nil
}

// offsetOf is the offset a ListOffsets response gives for topic/p, read
// as sarama's own Client.GetOffset reads it.
func offsetOf(r *sarama.OffsetResponse, topic string, p int32) (int64, error) {
	b := r.GetBlock(topic, p)
	switch {
	case b == nil:
		return 0, sarama.ErrIncompleteResponse
	case !errors.Is(b.Err, sarama.ErrNoError):
		return 0, b.Err
	case len(b.Offsets) != 1:
		return 0, sarama.ErrOffsetOutOfRange
	}
	return b.Offsets[0], nil
}

// Close closes the reader's connection without waiting for a read in
// flight, which then fails within one request timeout (5 s); Lag fails
// after it.
func (l *LagReader) Close() error {
	l.cmu.Lock()
	c := l.conn
	l.conn, l.closed = nil, true
	l.cmu.Unlock()
	if c == nil {
		return nil
	}
	if err := c.client.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
		return err
	}
	return nil
}
