package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Batch consumption (Handler.HandleBatch). Watermill's Kafka subscriber
// hands a partition's messages over one at a time and waits for each to
// be acknowledged before the next. For a handler that takes one database
// transaction per call, whatever the number of events in it, that caps a
// partition at one transaction's worth of events per transaction time, and
// a partition that receives more falls behind for good. A batch handler
// is instead one member of its consumer group over all its topics, driven
// by sarama directly: each partition's loop takes every message that has
// arrived (up to MaxBatch) and hands them to HandleBatch at once, in
// offset order, then marks the last one's offset. An idle partition's
// batches are of one message, so nothing waits for a batch to fill.
//
// What holds for Handle holds here: offsets are marked only once the
// messages are handled (or dead-lettered), in order; a failed batch is
// handled again message by message by the same code as Watermill's
// messages (retries, timeouts, panics, dead letters, metrics), so each
// message still ends in exactly one outcome.

// batchConsumer runs one batch handler.
type batchConsumer struct {
	r       *Router
	h       Handler
	group   string
	cfg     *sarama.Config // the handler's (consumerConfigFor)
	topics  []string
	byTopic map[string]*consumer // the per-message way, per topic
}

func newBatchConsumer(r *Router, h Handler, group string, cfg *sarama.Config) *batchConsumer {
	b := &batchConsumer{r: r, h: h, group: group, cfg: cfg, byTopic: map[string]*consumer{}}
	for _, ch := range h.Channels {
		topic := r.cfg.Kafka.Topic(ch)
		b.topics = append(b.topics, topic)
		b.byTopic[topic] = &consumer{r: r, h: h, channel: ch, topic: topic,
			log: r.cfg.Logger.With("handler", h.Name, "consumer_group", group)}
	}
	return b
}

// batchRetryWait is the pause before the consumer group is joined again
// after a failure, and before a message that could not be dead-lettered
// is tried again (Watermill's nack resend wait).
const batchRetryWait = 100 * time.Millisecond

// maxBatchRejoinWait bounds the wait before joining again.
const maxBatchRejoinWait = 10 * time.Second

// run consumes until ctx ends, joining the group again after failures,
// after a backoff.
func (b *batchConsumer) run(ctx context.Context) {
	log := b.r.log.With("handler", b.h.Name, "consumer_group", b.group)
	retry := newBackoff(batchRetryWait, maxBatchRejoinWait)
	for ctx.Err() == nil {
		start := time.Now()
		err := b.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := retry.after(start)
		log.Warn("kafka: batch consumer failed; joining again", "err", err, "in", wait.String())
		if !sleep(ctx, wait) {
			return
		}
	}
}

// consume is one consumer group client's life: sessions one after the
// other (a rebalance ends one) until ctx ends or the client fails.
func (b *batchConsumer) consume(ctx context.Context) error {
	group, err := sarama.NewConsumerGroup(b.r.cfg.Kafka.Brokers, b.group, b.cfg)
	if err != nil {
		return fmt.Errorf("kafka: consumer group %s: %w", b.group, err)
	}
	errsDone := make(chan struct{})
	go func() {
		defer close(errsDone)
		for err := range group.Errors() {
			b.r.log.Warn("kafka: consumer group error", "handler", b.h.Name, "consumer_group", b.group, "err", err)
		}
	}()
	defer func() {
		_ = group.Close() // closes Errors()
		<-errsDone
	}()
	for {
		err := group.Consume(ctx, b.topics, b)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, sarama.ErrClosedConsumerGroup):
			return err
		case err != nil:
			return fmt.Errorf("kafka: consume %v: %w", b.topics, err)
		}
	}
}

func (b *batchConsumer) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (b *batchConsumer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim handles one partition for the session: batch after batch,
// each marked once handled. It returns when the session ends; what it had
// not acknowledged by then is delivered again, here or to another member.
func (b *batchConsumer) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	c := b.byTopic[claim.Topic()]
	if c == nil {
		return fmt.Errorf("kafka: handler %s got a partition of topic %s it does not consume", b.h.Name, claim.Topic())
	}
	ctx := sess.Context()
	in := claim.Messages()
	for {
		var batch []*sarama.ConsumerMessage
		select {
		case <-ctx.Done():
			return nil
		case km, ok := <-in:
			if !ok {
				return nil
			}
			batch = append(batch, km)
		}
	more:
		for len(batch) < b.r.cfg.MaxBatch {
			select {
			case km, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, km)
			default:
				break more
			}
		}
		if !c.handleBatch(ctx, batch) {
			return nil // stopping: nothing more is marked
		}
		sess.MarkMessage(batch[len(batch)-1], "")
	}
}

// handleBatch handles the messages of one partition, in order, and reports
// whether they are all acknowledged (handled or dead-lettered); false
// means the session is ending and they will be delivered again.
func (c *consumer) handleBatch(ctx context.Context, batch []*sarama.ConsumerMessage) bool {
	start := time.Now()
	events := make([]Event, 0, len(batch))
	for _, km := range batch {
		e, err := c.decodeRecord(km)
		if err != nil {
			break // Handle's way says what is wrong with it
		}
		events = append(events, e)
	}
	if len(events) == len(batch) {
		err := c.attemptBatch(ctx, events)
		if err == nil {
			took := time.Since(start).Seconds()
			c.r.metrics.messages.WithLabelValues(c.h.Name, outcomeOK).Add(float64(len(batch)))
			duration := c.r.metrics.duration.WithLabelValues(c.h.Name)
			for range batch {
				duration.Observe(took) // one per message, as Handle's
			}
			return true
		}
		if ctx.Err() != nil {
			c.r.metrics.messages.WithLabelValues(c.h.Name, outcomeRequeued).Add(float64(len(batch)))
			return false
		}
		c.r.metrics.retries.WithLabelValues(c.h.Name).Inc()
		c.log.Warn("batch failed; handling its messages one at a time", "topic", c.topic,
			"partition", batch[0].Partition, "from_offset", batch[0].Offset, "messages", len(batch), "error", err)
	}
	for i, km := range batch {
		msg, _ := Marshaler{}.Unmarshal(km) // never fails
		msg.SetContext(ctx)
		o := origin{topic: km.Topic, partition: km.Partition, offset: km.Offset, key: km.Key}
		for {
			err := c.handleMessage(msg, o, start)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				c.r.metrics.messages.WithLabelValues(c.h.Name, outcomeRequeued).Add(float64(len(batch) - i - 1))
				return false
			}
			// The dead-letter topic could not be written: the message
			// stays where it is and is tried again.
			sleep(ctx, batchRetryWait)
		}
	}
	return true
}

// attemptBatch is one call of HandleBatch, bounded by the handler timeout,
// with a panic turned into its error.
func (c *consumer) attemptBatch(ctx context.Context, events []Event) error {
	log := c.log.With("topic", c.topic)
	ctx = context.WithValue(ctx, ctxKey{}, &handlerContext{logger: log})
	return c.guarded(ctx, log, "batch handler", func(ctx context.Context) error { return c.h.HandleBatch(ctx, events) })
}
