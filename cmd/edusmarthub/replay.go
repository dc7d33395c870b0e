package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func (a *app) replayCmd() *cobra.Command {
	var (
		channel, since, topic string
		from                  uint64
		dryRun                bool
	)
	cmd := &cobra.Command{
		Use:   "replay --channel C [--from-position N | --since TIME] [--topic T]",
		Short: "Re-publish stored events of a channel to Kafka, for a downstream backfill",
		Long: `Re-publish the events of one channel from the event store to Kafka, in log
order, with exactly the relay's message format (CloudEvents binary mode, key =
stream ID), so a downstream consumer (analytics, a data lake) can backfill.

  --from-position N   start at the event at position N (the global position
                      the API and the ce_position header show), then everything
                      after it in log order; default: the start of the log
  --since TIME        only events recorded at or after TIME (RFC 3339, e.g.
                      2026-09-01T00:00:00Z, or a date 2026-09-01, UTC)
  --topic T           publish to T (created if missing) instead of the
                      channel's own topic, whose consumers would see the events
                      again; with the channel's topic, its consumers (our
                      projections and sagas included) get duplicates, which
                      they ignore

It talks to EDUSMARTHUB_KAFKA_BROKERS or, when that is empty, to the embedded
broker of a running 'edusmarthub serve' (EDUSMARTHUB_KAFKA_EMBEDDED_ADDR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := replayOptions{Channel: domain.Channel(channel), FromPosition: from, Topic: topic, DryRun: dryRun}
			if err := o.parse(since, cmd.Flags().Changed("from-position")); err != nil {
				return err
			}
			return a.replay(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "the channel whose events to publish (required): "+channelNames())
	cmd.Flags().Uint64Var(&from, "from-position", 0, "start at the event at this global position")
	cmd.Flags().StringVar(&since, "since", "", "only events recorded at or after this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&topic, "topic", "", "publish to this topic instead of the channel's")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be published, publish nothing")
	return cmd
}

func (a *app) replay(ctx context.Context, o replayOptions) (err error) {
	cfg, logger, err := a.setup()
	if err != nil {
		return err
	}
	kcfg := kafkaConfig(cfg).WithDefaults()
	if err := kcfg.Validate(); err != nil {
		return fmt.Errorf("kafka configuration: %w", err)
	}
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	store, closeStore, err := openEventStore(ctx, cfg, db.Pool, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()
	res, err := replay(ctx, store, kcfg, o)
	if err != nil {
		if !cfg.KafkaEmbedded() || errors.Is(err, eventstore.ErrPositionNotFound) {
			return err
		}
		return fmt.Errorf("%w\n(EDUSMARTHUB_KAFKA_BROKERS is empty, so this talks to the embedded broker of a running `edusmarthub serve` at %s; is it running?)", err, kcfg.Brokers[0])
	}
	return res.print(a.stdout, o)
}

func channelNames() string {
	var names []string
	for _, c := range domain.Channels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// replayOptions select what replay publishes, and where.
type replayOptions struct {
	Channel      domain.Channel
	FromPosition eventstore.Position // 0: from the start of the log
	Since        time.Time           // zero: no time bound
	Topic        string              // "": the channel's topic
	DryRun       bool
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// parse checks the options and reads --since; every problem is reported.
func (o *replayOptions) parse(since string, fromSet bool) error {
	var errs []error
	known := false
	for _, c := range domain.Channels() {
		known = known || c == o.Channel
	}
	switch {
	case o.Channel == "":
		errs = append(errs, fmt.Errorf("--channel is required (one of %s)", channelNames()))
	case !known:
		errs = append(errs, fmt.Errorf("--channel %q: not a channel (one of %s)", o.Channel, channelNames()))
	}
	if fromSet && o.FromPosition == 0 {
		errs = append(errs, errors.New("--from-position: positions start at 1"))
	}
	if since != "" {
		if fromSet {
			errs = append(errs, errors.New("--from-position and --since exclude each other"))
		}
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			t, err = time.Parse(time.DateOnly, since)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--since %q: want RFC 3339 (2026-09-01T08:00:00Z) or a date (2026-09-01)", since))
		}
		o.Since = t.UTC()
	}
	if o.Topic != "" && (!topicName.MatchString(o.Topic) || o.Topic == "." || o.Topic == "..") {
		errs = append(errs, fmt.Errorf("--topic %q: use letters, digits, '.', '_' or '-', at most 249", o.Topic))
	}
	return errors.Join(errs...)
}

// replayResult is what a replay published.
type replayResult struct {
	Topic       string
	Read        int64 // log events read
	Published   int64
	First, Last eventstore.Position
}

func (r replayResult) print(w io.Writer, o replayOptions) error {
	verb := "published"
	if o.DryRun {
		verb = "would publish"
	}
	if r.Published == 0 {
		_, err := fmt.Fprintf(w, "no events of channel %s to publish (%d read)\n", o.Channel, r.Read)
		return err
	}
	_, err := fmt.Fprintf(w, "%s %d events of channel %s to %s (positions %d to %d; %d events of the log read)\n",
		verb, r.Published, o.Channel, r.Topic, r.First, r.Last, r.Read)
	return err
}

// replayBatch is how many events are read, and then sent, at once.
const replayBatch = 1000

// replay reads the store's log from the start, and publishes the events
// of o.Channel from o.FromPosition on (and recorded at or after o.Since)
// with the relay's message format, a batch at a time, each batch
// acknowledged by the brokers before the next is read.
func replay(ctx context.Context, store eventstore.Store, kcfg kafka.Config, o replayOptions) (replayResult, error) {
	res := replayResult{Topic: o.Topic}
	if res.Topic == "" {
		res.Topic = kcfg.Topic(o.Channel)
	}
	var producer sarama.SyncProducer
	if !o.DryRun {
		p, err := replayProducer(kcfg, o.Topic)
		if err != nil {
			return res, err
		}
		defer p.Close()
		producer = p
	}
	started := o.FromPosition == 0
	var after eventstore.Position
	for {
		events, err := store.ReadAll(ctx, after, replayBatch)
		if err != nil {
			return res, fmt.Errorf("read the log after position %d: %w", after, err)
		}
		if len(events) == 0 {
			break
		}
		after = events[len(events)-1].Position
		res.Read += int64(len(events))
		var msgs []*sarama.ProducerMessage
		for _, e := range events {
			started = started || e.Position == o.FromPosition
			if !started || e.RecordedAt.Before(o.Since) {
				continue
			}
			if ch, ok := domain.ChannelOf(e.Type); !ok || ch != o.Channel {
				continue // unknown types have no channel: the relay dead-letters them
			}
			msg, err := kcfg.ProducerMessage(e)
			if err != nil {
				return res, err
			}
			msg.Topic = res.Topic
			msgs = append(msgs, msg)
			if res.First == 0 {
				res.First = e.Position
			}
			res.Last = e.Position
		}
		if len(msgs) > 0 && producer != nil {
			if err := producer.SendMessages(msgs); err != nil {
				return res, fmt.Errorf("publish to %s (after %d published): %w", res.Topic, res.Published, err)
			}
		}
		res.Published += int64(len(msgs))
		if len(events) < replayBatch {
			break
		}
	}
	if !started {
		return res, fmt.Errorf("--from-position %d: %w", o.FromPosition, eventstore.ErrPositionNotFound)
	}
	return res, nil
}

// replayProducer connects a producer with the relay's settings (acks from
// all in-sync replicas, idempotent), after creating topic if it is set and
// missing.
func replayProducer(kcfg kafka.Config, topic string) (sarama.SyncProducer, error) {
	sc, err := kcfg.ProducerSaramaConfig()
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(kcfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(kcfg.Brokers, ","), err)
	}
	if topic != "" {
		if err := ensureTopic(client, kcfg, topic); err != nil {
			_ = client.Close()
			return nil, err
		}
	}
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return closingProducer{p, client}, nil
}

func ensureTopic(client sarama.Client, kcfg kafka.Config, topic string) error {
	topics, err := client.Topics()
	if err != nil {
		return fmt.Errorf("kafka: list topics: %w", err)
	}
	for _, t := range topics {
		if t == topic {
			return nil
		}
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	rf := kcfg.ReplicationFactor
	if rf == 0 {
		rf = -1 // the brokers' default
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: kcfg.Partitions, ReplicationFactor: rf}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("kafka: create topic %s: %w", topic, err)
	}
	return nil
}

// closingProducer closes its client with it (a producer made from a
// client leaves the client open).
type closingProducer struct {
	sarama.SyncProducer
	client sarama.Client
}

func (p closingProducer) Close() error {
	return errors.Join(p.SyncProducer.Close(), p.client.Close())
}
