// Package kafka is the Kafka edge of the service: the configuration of
// every Kafka client (sarama, through Watermill where it fits), the topics
// (one per domain channel, plus a dead-letter topic), the message format
// (CloudEvents Kafka binding, binary mode), the relay that publishes the
// event store's log, the consumer side (Watermill routers) and an embedded
// Kafka-protocol broker for development and tests.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// sarama keeps go-metrics histograms and meters of every request and
// message, which nothing here reads: operators get this package's
// Prometheus metrics. Keeping them cost about 4% of serve's CPU under
// load. This is sarama's documented switch, and global: sarama is the
// only user of go-metrics in the process.
func init() { metrics.UseNilMetrics = true }

// Defaults of Config.
const (
	DefaultClientID     = "edusmarthub"
	DefaultVersion      = "3.6.0"
	DefaultTopicPrefix  = "edusmarthub"
	DefaultPartitions   = 12
	DefaultEmbeddedAddr = "127.0.0.1:9092"
)

// SASL mechanisms Config.SASL.Mechanism accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Config is the configuration shared by every Kafka client of the service
// (relay, routers, DLQ tools, topic admin). cmd/ fills it once.
type Config struct {
	// Brokers are the bootstrap brokers (host:port). Required: with no
	// brokers configured, cmd/ starts an embedded broker and puts its
	// address here.
	Brokers []string
	// ClientID identifies the service to the brokers (default "edusmarthub").
	ClientID string
	// Version is the Kafka protocol version to speak, e.g. "3.6.0" (the
	// default): the oldest broker version of the cluster.
	Version string
	// TopicPrefix prefixes every topic: <prefix>.<channel>, <prefix>.dlq,
	// and consumer groups (default "edusmarthub").
	TopicPrefix string
	// Partitions of each topic EnsureTopics creates (default 12). A
	// consumer group handles a partition's messages one at a time, so the
	// partitions bound how many events of a topic each handler (a saga, a
	// projection) works on at once, and how many replicas can share it.
	Partitions int32
	// ReplicationFactor of the topics EnsureTopics creates; 0 (the
	// default) leaves it to the brokers' default.replication.factor.
	ReplicationFactor int16
	TLS               TLSConfig
	SASL              SASLConfig
}

// TLSConfig turns TLS on for broker connections. With no CA file the
// system's roots verify the brokers; a certificate and key make it mutual.
type TLSConfig struct {
	Enabled  bool
	CAFile   string
	CertFile string
	KeyFile  string
}

// SASLConfig authenticates to the brokers. An empty Mechanism is no SASL.
type SASLConfig struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username  string
	Password  string
}

// LogValue keeps the SASL password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("brokers", strings.Join(c.Brokers, ",")),
		slog.String("clientId", c.ClientID),
		slog.String("version", c.Version),
		slog.String("topicPrefix", c.TopicPrefix),
		slog.Int("partitions", int(c.Partitions)),
		slog.Int("replicationFactor", int(c.ReplicationFactor)),
		slog.Bool("tls", c.TLS.Enabled),
		slog.String("sasl", c.SASL.Mechanism),
	)
}

func (c *Config) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
}

// WithDefaults returns c with its empty settings set to their defaults.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

// Validate reports every problem of the configuration at once. Call it on
// a Config with its defaults set (WithDefaults); the constructors of this
// package do.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers"))
	}
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" || !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("kafka: broker %d %q is not host:port", i, b))
		}
	}
	v, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		errs = append(errs, fmt.Errorf("kafka: protocol version %q: %w", c.Version, err))
	}
	if !validTopicPart(c.TopicPrefix) {
		errs = append(errs, fmt.Errorf("kafka: topic prefix %q: use letters, digits, '.', '_' or '-', at most 200", c.TopicPrefix))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("kafka: partitions must be at least 1, got %d", c.Partitions))
	}
	switch {
	case c.ReplicationFactor < 0:
		errs = append(errs, fmt.Errorf("kafka: replication factor must be 0 (broker default) or more, got %d", c.ReplicationFactor))
	case c.ReplicationFactor == 0 && err == nil && !v.IsAtLeast(sarama.V2_4_0_0):
		errs = append(errs, fmt.Errorf("kafka: replication factor 0 (broker default) needs protocol version 2.4 or later, got %s", c.Version))
	}
	if !c.TLS.Enabled && (c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.KeyFile != "") {
		errs = append(errs, errors.New("kafka: TLS files are set but TLS is not enabled"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("kafka: a TLS client certificate needs both the certificate and the key file"))
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			errs = append(errs, errors.New("kafka: SASL username or password set without a SASL mechanism"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASL.Username == "" {
			errs = append(errs, fmt.Errorf("kafka: SASL %s needs a username", c.SASL.Mechanism))
		}
		if c.SASL.Password == "" {
			errs = append(errs, fmt.Errorf("kafka: SASL %s needs a password", c.SASL.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka: SASL mechanism %q is not one of %s, %s, %s", c.SASL.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512))
	}
	return errors.Join(errs...)
}

func validTopicPart(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// base builds the sarama settings every client shares: identity, protocol
// version, TLS, SASL and network timeouts.
func (c Config) base() (*sarama.Config, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sc := sarama.NewConfig()
	sc.ClientID = c.ClientID
	sc.Version, _ = sarama.ParseKafkaVersion(c.Version) // validated
	// Fail a dead broker's requests in seconds, not sarama's 30s, so
	// retries and the relay's reconnects start sooner.
	sc.Net.DialTimeout = 10 * time.Second
	sc.Net.ReadTimeout = 15 * time.Second
	sc.Net.WriteTimeout = 15 * time.Second
	sc.Metadata.Retry.Max = 5
	sc.Metadata.Retry.Backoff = 250 * time.Millisecond
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if m := c.SASL.Mechanism; m != "" {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User = c.SASL.Username
		sc.Net.SASL.Password = c.SASL.Password
		sc.Net.SASL.Mechanism = sarama.SASLMechanism(m)
		auth := scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}
		switch m {
		case SASLScramSHA256:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{mech: auth.AsSha256Mechanism()} }
		case SASLScramSHA512:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{mech: auth.AsSha512Mechanism()} }
		}
	}
	return sc, nil
}

// ProducerSaramaConfig is the producer configuration: acks from all
// in-sync replicas and the idempotent producer, so a retried batch is
// neither duplicated nor reordered within a partition (idempotence needs
// at most one request in flight per broker in sarama). Successes and
// errors are both returned, as the relay and Watermill's publisher read
// them.
func (c Config) ProducerSaramaConfig() (*sarama.Config, error) {
	sc, err := c.base()
	if err != nil {
		return nil, err
	}
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 200 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	// Batch what arrives within a millisecond: throughput without adding
	// latency anyone would notice.
	sc.Producer.Flush.Frequency = time.Millisecond
	sc.Producer.Flush.Bytes = 512 << 10
	// Every producer of ours partitions by key with the same hash, so a
	// stream's events (and their re-drives) share a partition.
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	return sc, sc.Validate()
}

// ConsumerSaramaConfig is the consumer configuration: a new consumer group
// starts from the oldest offset (it sees the whole retained topic, not
// only what comes after it joined); offsets are committed from what the
// consumer marked, which Watermill does only after a handler acknowledged.
func (c Config) ConsumerSaramaConfig() (*sarama.Config, error) {
	sc, err := c.base()
	if err != nil {
		return nil, err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.Return.Errors = true
	return sc, sc.Validate()
}

// AdminSaramaConfig is the configuration of the cluster admin (topics).
func (c Config) AdminSaramaConfig() (*sarama.Config, error) {
	sc, err := c.base()
	if err != nil {
		return nil, err
	}
	sc.Admin.Timeout = 10 * time.Second
	sc.Admin.Retry.Max = 5
	sc.Admin.Retry.Backoff = 250 * time.Millisecond
	return sc, sc.Validate()
}

func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: TLS CA file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: TLS client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scramClient adapts franz-go's SCRAM implementation to sarama, which
// ships none of its own.
type scramClient struct {
	mech    sasl.Mechanism
	session sasl.Session
	first   []byte
	started bool
	done    bool
}

func (s *scramClient) Begin(_, _, _ string) error {
	session, first, err := s.mech.Authenticate(context.Background(), "")
	if err != nil {
		return err
	}
	s.session, s.first, s.started, s.done = session, first, false, false
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) {
	if !s.started {
		s.started = true
		return string(s.first), nil
	}
	done, resp, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	s.done = done
	return string(resp), nil
}

func (s *scramClient) Done() bool { return s.done }
