package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MonitoringCollector exports monitoring's Kafka figures on /metrics, for
// alerting: each read model's consumer lag
// (edusmarthub_projection_consumer_lag_messages{projection}) and the dead
// letters waiting (edusmarthub_dead_letters_pending). They are read when
// scraped, through the same functions as GET /v1/system/monitoring (pass
// ProjectionLags' and PendingDeadLetters', which cache and bound their
// reads). A figure that cannot be read is left out of that scrape, so an
// alert on its absence tells that Kafka did not answer.
type MonitoringCollector struct {
	lags        func(context.Context) (map[string]int64, error)
	deadLetters func(context.Context) (int, error)
	lagDesc     *prometheus.Desc
	deadDesc    *prometheus.Desc
}

var _ prometheus.Collector = (*MonitoringCollector)(nil)

// NewMonitoringCollector returns a collector of lags and deadLetters
// (either may be nil: not exported).
func NewMonitoringCollector(lags func(context.Context) (map[string]int64, error), deadLetters func(context.Context) (int, error)) *MonitoringCollector {
	return &MonitoringCollector{
		lags:        lags,
		deadLetters: deadLetters,
		lagDesc: prometheus.NewDesc("edusmarthub_projection_consumer_lag_messages",
			"Messages on a read model's topics that its consumer group has not committed yet (Kafka consumer lag).",
			[]string{"projection"}, nil),
		deadDesc: prometheus.NewDesc("edusmarthub_dead_letters_pending",
			"Dead letters on the dead-letter topic not re-driven yet.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *MonitoringCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lagDesc
	ch <- c.deadDesc
}

// scrapeTimeout bounds a scrape's wait for the figures (they answer
// within sampleWait; this is the backstop).
const scrapeTimeout = 10 * time.Second

// Collect implements prometheus.Collector. The figures are read at once,
// so a scrape waits for the slower one only.
func (c *MonitoringCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if c.lags != nil {
		wg.Go(func() {
			if lags, err := c.lags(ctx); err == nil {
				for name, n := range lags {
					ch <- prometheus.MustNewConstMetric(c.lagDesc, prometheus.GaugeValue, float64(n), name)
				}
			}
		})
	}
	if c.deadLetters != nil {
		wg.Go(func() {
			if n, err := c.deadLetters(ctx); err == nil {
				ch <- prometheus.MustNewConstMetric(c.deadDesc, prometheus.GaugeValue, float64(n))
			}
		})
	}
	wg.Wait()
}
