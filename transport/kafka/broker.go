package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kfake"
)

// EmbeddedBroker is an in-process Kafka-protocol broker (franz-go's kfake)
// for development and tests: every client speaks the real wire protocol
// to it. It keeps messages in memory only: they are gone when it closes.
// That loses nothing of ours, since the event store is the truth and the
// relay publishes again what a fresh broker lacks.
type EmbeddedBroker struct {
	cluster *kfake.Cluster
	addr    string
}

// StartEmbeddedBroker starts a one-node broker listening on addr
// (host:port; port 0 picks a free one). Topics are not created: call
// EnsureTopics, as for a real cluster. partitions is the count of topics
// that a client creates without saying (auto-creation is off, so only an
// explicit CreateTopics with -1 uses it); 0 means DefaultPartitions.
func StartEmbeddedBroker(ctx context.Context, addr string, partitions int, logger *slog.Logger) (*EmbeddedBroker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if partitions <= 0 {
		partitions = DefaultPartitions
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("kafka: embedded broker address %q: %w", addr, err)
	}
	// kfake listens on 127.0.0.1:<port>; its ListenFn lets us bind the
	// address asked for instead (and tells the clients that address in
	// metadata, as it reports the listener's own).
	var lc net.ListenConfig
	listen := func(network, _ string) (net.Listener, error) { return lc.Listen(ctx, network, addr) }
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.DefaultNumPartitions(partitions),
		kfake.WithLogger(kfakeLogger{logger}),
		// A cluster ID of its own per start: the relay tells by it that
		// the broker it talks to is a new, empty one.
		kfake.ClusterID("edusmarthub-embedded-"+uuid.NewString()),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: start embedded broker on %s: %w", addr, err)
	}
	b := &EmbeddedBroker{cluster: c, addr: c.ListenAddrs()[0]}
	logger.Info("embedded kafka broker started (in memory, for development)", "addr", b.addr)
	return b, nil
}

// Addr is the address the broker listens on (host:port).
func (b *EmbeddedBroker) Addr() string { return b.addr }

// Close stops the broker and drops its connections and messages.
func (b *EmbeddedBroker) Close() { b.cluster.Close() }

// kfakeLogger sends kfake's warnings and errors to slog; its info and
// debug lines are per request, too many for a service log.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		k.l.Error("embedded kafka: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		k.l.Warn("embedded kafka: " + fmt.Sprintf(format, args...))
	}
}
