package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/IBM/sarama"

	"github.com/edusmarthub/edusmarthub/domain"
)

// dlqSuffix names the dead-letter topic: <prefix>.dlq. No channel is
// called "dlq", so it cannot clash with a channel's topic.
const dlqSuffix = "dlq"

// Topic is the topic of a channel: <prefix>.<channel>.
func (c Config) Topic(ch domain.Channel) string {
	return c.WithDefaults().TopicPrefix + "." + string(ch)
}

// DLQTopic is the dead-letter topic: <prefix>.dlq.
func (c Config) DLQTopic() string {
	return c.WithDefaults().TopicPrefix + "." + dlqSuffix
}

// Topics lists every topic of the service: one per channel of
// domain.Channels(), in that order, then the dead-letter topic.
func (c Config) Topics() []string {
	chs := domain.Channels()
	out := make([]string, 0, len(chs)+1)
	for _, ch := range chs {
		out = append(out, c.Topic(ch))
	}
	return append(out, c.DLQTopic())
}

// ChannelOfTopic is the channel whose topic is topic, false for any other
// topic (the dead-letter topic included).
func (c Config) ChannelOfTopic(topic string) (domain.Channel, bool) {
	rest, ok := strings.CutPrefix(topic, c.WithDefaults().TopicPrefix+".")
	if !ok {
		return "", false
	}
	for _, ch := range domain.Channels() {
		if string(ch) == rest {
			return ch, true
		}
	}
	return "", false
}

// EnsureTopics creates the topics of Topics that the cluster lacks, with
// the configured partitions and replication factor. Existing topics are
// left as they are (a partition count is never changed behind the
// operators' back: it would move keys, and so streams, to other
// partitions). Replicas starting together may race to create a topic;
// "already exists" counts as success.
func EnsureTopics(ctx context.Context, cfg Config, logger *slog.Logger) error {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sc, err := cfg.AdminSaramaConfig()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("kafka: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	defer admin.Close()
	return ensureTopics(ctx, admin, cfg, logger)
}

func ensureTopics(ctx context.Context, admin sarama.ClusterAdmin, cfg Config, logger *slog.Logger) error {
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("kafka: list topics: %w", err)
	}
	replication := cfg.ReplicationFactor
	if replication == 0 {
		replication = -1 // KIP-464: the broker's default.replication.factor
	}
	var errs []error
	for _, topic := range cfg.Topics() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d, ok := existing[topic]; ok {
			if d.NumPartitions != cfg.Partitions {
				logger.Warn("kafka topic exists with another partition count; left as is",
					"topic", topic, "partitions", d.NumPartitions, "configured", cfg.Partitions)
			}
			continue
		}
		err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: replication}, false)
		switch {
		case err == nil:
			logger.Info("created kafka topic", "topic", topic, "partitions", cfg.Partitions, "replicationFactor", cfg.ReplicationFactor)
		case errors.Is(err, sarama.ErrTopicAlreadyExists):
		default:
			errs = append(errs, fmt.Errorf("kafka: create topic %s (%d partitions, replication factor %d): %w",
				topic, cfg.Partitions, cfg.ReplicationFactor, err))
		}
	}
	return errors.Join(errs...)
}
