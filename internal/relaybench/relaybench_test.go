package relaybench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/internal/relaybench"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A tiny run: every side measures something, every paced event arrives,
// and the table says what was measured.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a relay against PostgreSQL and a broker")
	}
	pool := pgtest.NewPool(t)
	b, err := kafka.StartEmbeddedBroker(context.Background(), "127.0.0.1:0", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := relaybench.Run(t.Context(), pool, relaybench.Config{
		Kafka:  kafka.Config{Brokers: []string{b.Addr()}, Partitions: 2, ReplicationFactor: 1},
		Events: 600, Streams: 20, Rounds: 1, Rate: 200, Duration: 500 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Raw.Median() <= 0 || res.Relay.Median() <= 0 || res.Ratio() <= 0 {
		t.Errorf("throughput: %+v", res)
	}
	if l := res.Latency; l.Sent != 100 || l.Arrived != l.Sent || l.P50 <= 0 || l.P99 < l.P50 || l.Max < l.P99 {
		t.Errorf("latency: %+v", l)
	}
	var out bytes.Buffer
	if err := relaybench.Print(&out, "header", res, 1000); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raw sarama producer", "relay (store -> acked)", "relay/raw", "relay/store", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
