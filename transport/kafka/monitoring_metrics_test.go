package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// The figures are exported as read at the scrape; one that cannot be
// read is absent from that scrape, not reported as 0.
func TestMonitoringCollectorExportsWhatItCanRead(t *testing.T) {
	t.Parallel()
	lagsDown := false
	lags := func(context.Context) (map[string]int64, error) {
		if lagsDown {
			return nil, errors.New("kafka: no answer")
		}
		return map[string]int64{"performance": 7, "schools": 0}, nil
	}
	deadLetters := func(context.Context) (int, error) { return 3, nil }
	reg := prometheus.NewRegistry()
	reg.MustRegister(kafka.NewMonitoringCollector(lags, deadLetters))

	want := `
# HELP edusmarthub_dead_letters_pending Dead letters on the dead-letter topic not re-driven yet.
# TYPE edusmarthub_dead_letters_pending gauge
edusmarthub_dead_letters_pending 3
# HELP edusmarthub_projection_consumer_lag_messages Messages on a read model's topics that its consumer group has not committed yet (Kafka consumer lag).
# TYPE edusmarthub_projection_consumer_lag_messages gauge
edusmarthub_projection_consumer_lag_messages{projection="performance"} 7
edusmarthub_projection_consumer_lag_messages{projection="schools"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	lagsDown = true
	if n := testutil.CollectAndCount(reg, "edusmarthub_projection_consumer_lag_messages"); n != 0 {
		t.Errorf("%d lag series while the lag cannot be read, want none", n)
	}
	if n := testutil.CollectAndCount(reg, "edusmarthub_dead_letters_pending"); n != 1 {
		t.Errorf("%d dead-letter series, want 1", n)
	}
}
