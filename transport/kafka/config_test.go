package kafka_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func TestConfigDefaultsAndSaramaSettings(t *testing.T) {
	t.Parallel()
	c := kafka.Config{Brokers: []string{"k:9092"}}.WithDefaults()
	if c.ClientID != "edusmarthub" || c.Version != "3.6.0" || c.TopicPrefix != "edusmarthub" || c.Partitions != 12 || c.ReplicationFactor != 0 {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := c.ProducerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	// Production-safe, not the library's defaults.
	if p.Producer.RequiredAcks != sarama.WaitForAll || !p.Producer.Idempotent || p.Net.MaxOpenRequests != 1 ||
		!p.Producer.Return.Successes || !p.Producer.Return.Errors || p.Producer.Retry.Max < 1 {
		t.Errorf("producer: acks %v idempotent %v maxOpen %d successes %v retries %d", p.Producer.RequiredAcks,
			p.Producer.Idempotent, p.Net.MaxOpenRequests, p.Producer.Return.Successes, p.Producer.Retry.Max)
	}
	if !p.Version.IsAtLeast(sarama.V3_6_0_0) || p.ClientID != "edusmarthub" {
		t.Errorf("version %v client %q", p.Version, p.ClientID)
	}
	co, err := c.ConsumerSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	if co.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Errorf("consumer initial offset %d, want oldest", co.Consumer.Offsets.Initial)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  kafka.Config
		want []string
	}{
		{"no brokers", kafka.Config{}, []string{"no brokers"}},
		{"bad broker", kafka.Config{Brokers: []string{"nohost"}}, []string{`broker 0 "nohost"`}},
		{"bad version", kafka.Config{Brokers: []string{"k:1"}, Version: "three"}, []string{"protocol version"}},
		{"bad prefix", kafka.Config{Brokers: []string{"k:1"}, TopicPrefix: "a/b"}, []string{"topic prefix"}},
		{"old version, broker default replication", kafka.Config{Brokers: []string{"k:1"}, Version: "2.0.0"}, []string{"needs protocol version 2.4"}},
		{"tls files without tls", kafka.Config{Brokers: []string{"k:1"}, TLS: kafka.TLSConfig{CAFile: "ca.pem"}}, []string{"TLS is not enabled"}},
		{"cert without key", kafka.Config{Brokers: []string{"k:1"}, TLS: kafka.TLSConfig{Enabled: true, CertFile: "c.pem"}}, []string{"both the certificate and the key"}},
		{"unknown sasl", kafka.Config{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{Mechanism: "GSSAPI"}}, []string{`"GSSAPI" is not one of`}},
		{"sasl without credentials", kafka.Config{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{Mechanism: "PLAIN"}}, []string{"needs a username", "needs a password"}},
		{"everything", kafka.Config{Version: "x", TopicPrefix: " ", SASL: kafka.SASLConfig{Username: "u"}},
			[]string{"no brokers", "protocol version", "topic prefix", "without a SASL mechanism"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.WithDefaults().Validate()
			if err == nil {
				t.Fatal("valid")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if _, perr := tt.cfg.ProducerSaramaConfig(); perr == nil {
				t.Error("ProducerSaramaConfig accepted an invalid configuration")
			}
		})
	}
	if (kafka.Config{Brokers: []string{"k:1"}}).LogValue().String() == "" {
		t.Error("no log value")
	}
	if s := (kafka.Config{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "hunter2"}}).LogValue().String(); strings.Contains(s, "hunter2") {
		t.Errorf("the password is logged: %s", s)
	}
}

// SASL against a broker that requires it: PLAIN and both SCRAM
// mechanisms (sarama has no SCRAM of its own; ours adapts franz-go's).
func TestConfigSASLAuthenticates(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "svc", "s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			good := kafka.Config{Brokers: c.ListenAddrs(), Partitions: 1, SASL: kafka.SASLConfig{Mechanism: mech, Username: "svc", Password: "s3cret"}}
			if err := kafka.EnsureTopics(ctx, good, nil); err != nil {
				t.Fatalf("with the right password: %v", err)
			}
			bad := good
			bad.SASL.Password = "wrong"
			if err := kafka.EnsureTopics(ctx, bad, nil); err == nil {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
}

// EnsureTopics creates every channel topic and the dead-letter topic with
// the configured partitions, and a second run (another replica) is a
// no-op that leaves an existing topic as it is.
func TestEnsureTopicsCreatesEveryTopicOnce(t *testing.T) {
	t.Parallel()
	b := relayBroker(t, "127.0.0.1:0")
	cfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 3, TopicPrefix: "school-x"}
	ctx := t.Context()
	for range 2 {
		if err := kafka.EnsureTopics(ctx, cfg, relayLogger()); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := cfg.AdminSaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		t.Fatal(err)
	}
	want := cfg.Topics()
	if len(want) != 11 || !slices.Contains(want, "school-x.dlq") || !slices.Contains(want, "school-x.ai_services") {
		t.Errorf("Topics() = %v", want)
	}
	for _, topic := range want {
		d, ok := topics[topic]
		if !ok {
			t.Errorf("topic %s was not created", topic)
			continue
		}
		if d.NumPartitions != 3 {
			t.Errorf("topic %s has %d partitions, want 3", topic, d.NumPartitions)
		}
	}
	if ch, ok := cfg.ChannelOfTopic("school-x.teacher"); !ok || ch != "teacher" {
		t.Errorf("ChannelOfTopic(school-x.teacher) = %q, %v", ch, ok)
	}
	for _, other := range []string{"school-x.dlq", "edusmarthub.teacher", "school-x.nope"} {
		if _, ok := cfg.ChannelOfTopic(other); ok {
			t.Errorf("ChannelOfTopic(%s) found a channel", other)
		}
	}
	// A later run with another partition count leaves the topics alone.
	cfg.Partitions = 5
	if err := kafka.EnsureTopics(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	md, err := admin.DescribeTopics([]string{"school-x.teacher"})
	if err != nil || len(md) != 1 || len(md[0].Partitions) != 3 {
		t.Errorf("the existing topic changed: %v %v", md, err)
	}
}

// The embedded broker listens where it is told, and a new one can take
// the address of a closed one (as after a restart of serve).
func TestEmbeddedBrokerAddressAndRestart(t *testing.T) {
	t.Parallel()
	b1, err := kafka.StartEmbeddedBroker(context.Background(), "127.0.0.1:0", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := b1.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr() = %q", addr)
	}
	if _, err := kafka.StartEmbeddedBroker(context.Background(), addr, 2, nil); err == nil {
		t.Fatal("a second broker started on a taken address")
	}
	b1.Close()
	b2, err := kafka.StartEmbeddedBroker(context.Background(), addr, 2, nil)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer b2.Close()
	if err := kafka.EnsureTopics(t.Context(), kafka.Config{Brokers: []string{addr}, Partitions: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kafka.StartEmbeddedBroker(context.Background(), "nowhere", 1, nil); err == nil {
		t.Error("a broker started on a bad address")
	}
}

func TestSaramaKeepsNoGoMetrics(t *testing.T) {
	if _, ok := metrics.NewHistogram(metrics.NewUniformSample(8)).(metrics.NilHistogram); !ok {
		t.Error("go-metrics builds real histograms: sarama would keep a histogram per request that nothing reads")
	}
}
