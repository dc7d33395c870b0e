package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/config"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// kafkaConfig maps the service configuration to the Kafka clients'
// settings. With no brokers configured the brokers are the embedded
// broker's address, where a running serve listens.
func kafkaConfig(cfg config.Config) kafka.Config {
	brokers := cfg.KafkaBrokerList()
	if len(brokers) == 0 {
		brokers = []string{cfg.KafkaEmbeddedAddr}
	}
	return kafka.Config{
		Brokers:           brokers,
		ClientID:          cfg.KafkaClientID,
		Version:           cfg.KafkaVersion,
		TopicPrefix:       cfg.KafkaTopicPrefix,
		Partitions:        cfg.KafkaPartitions,
		ReplicationFactor: cfg.KafkaReplicationFactor,
		TLS: kafka.TLSConfig{
			Enabled:  cfg.KafkaTLS,
			CAFile:   cfg.KafkaTLSCAFile,
			CertFile: cfg.KafkaTLSCertFile,
			KeyFile:  cfg.KafkaTLSKeyFile,
		},
		SASL: kafka.SASLConfig{
			Mechanism: cfg.KafkaSASLMechanism,
			Username:  cfg.KafkaSASLUsername,
			Password:  cfg.KafkaSASLPassword,
		},
	}
}

// kafkaBackbone is serve's Kafka side: the embedded broker when no brokers
// are configured, and the relay from the event store to the topics.
type kafkaBackbone struct {
	// Config is what every Kafka client of serve uses (the embedded
	// broker's actual address in it).
	Config kafka.Config
	// AsyncAPI is the topics' AsyncAPI document, for the HTTP API.
	AsyncAPI []byte
	Relay    *kafka.Relay
	// Lag reads the consumer groups' lag, for monitoring.
	Lag *kafka.LagReader
	// LogBacklog counts the log's events after a position, for
	// monitoring's log readers: the relay's count with the PostgreSQL
	// store; nil with KurrentDB, whose count reads every event
	// (monitoring then takes the head minus the position).
	LogBacklog kafka.BacklogFunc

	broker *kafka.EmbeddedBroker
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// startKafka starts the embedded broker if no brokers are configured, then
// the relay, in the background. It does not wait for the brokers: the
// relay retries until they answer, and commands never wait for Kafka
// (they only append to the store).
func startKafka(ctx context.Context, cfg config.Config, store eventstore.Store, pool *pgxpool.Pool, reg prometheus.Registerer, logger *slog.Logger) (*kafkaBackbone, error) {
	k := &kafkaBackbone{Config: kafkaConfig(cfg)}
	if err := k.Config.WithDefaults().Validate(); err != nil {
		return nil, fmt.Errorf("kafka configuration: %w", err)
	}
	log := logger.With("component", "kafka")
	if cfg.KafkaEmbedded() {
		b, err := kafka.StartEmbeddedBroker(ctx, cfg.KafkaEmbeddedAddr, int(cfg.KafkaPartitions), log)
		if err != nil {
			return nil, fmt.Errorf("%w (EDUSMARTHUB_KAFKA_EMBEDDED_ADDR; or set EDUSMARTHUB_KAFKA_BROKERS)", err)
		}
		k.broker = b
		k.Config.Brokers = []string{b.Addr()}
		if k.Config.ReplicationFactor == 0 {
			k.Config.ReplicationFactor = 1 // one broker
		}
	}
	doc, err := kafka.AsyncAPI(k.Config)
	if err != nil {
		k.closeBroker()
		return nil, err
	}
	k.AsyncAPI = doc
	rc := kafka.RelayConfig{Kafka: k.Config, Logger: log, Registerer: reg}
	if cfg.EventStore == config.EventStoreKurrentDB {
		rc.Backlog = kafka.StoreBacklog(store) // the events are not in PostgreSQL
	} else {
		k.LogBacklog = kafka.PostgresBacklog(pool)
	}
	k.Relay, err = kafka.NewRelay(rc, store, pool)
	if err != nil {
		k.closeBroker()
		return nil, err
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	k.stop = stop
	k.wg.Go(func() { _ = k.Relay.Run(rctx) }) // returns nil when stopped; it logs its failures
	k.Lag = kafka.NewLagReader(k.Config)
	log.Info("kafka relay started", "kafka", k.Config)
	return k, nil
}

// Stop stops the relay (it writes its checkpoint) and the lag reader,
// then the embedded broker.
func (k *kafkaBackbone) Stop() {
	k.stop()
	k.wg.Wait()
	_ = k.Lag.Close()
	k.closeBroker()
}

func (k *kafkaBackbone) closeBroker() {
	if k.broker != nil {
		k.broker.Close()
	}
}
