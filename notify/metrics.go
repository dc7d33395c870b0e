package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
)

// metrics are the dispatcher's Prometheus counters; nil-safe (no
// Registerer, no metrics).
type metrics struct {
	deliveries *prometheus.CounterVec
	recipients *prometheus.CounterVec // unresolved, by kind
}

// Outcomes of an attempt (the outcome label).
var outcomes = []string{"sent", "retry", "failed"}

func newMetrics(reg prometheus.Registerer, channels []string) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edusmarthub_notification_deliveries_total",
			Help: "Delivery attempts of notifications by channel (smtp, webhook) and outcome: sent, " +
				"retry (failed, tried again later), failed (rejected for good or out of attempts).",
		}, []string{"channel", "outcome"}),
		recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edusmarthub_notification_unresolved_recipients_total",
			Help: "Message recipients skipped because the address book has no e-mail address for them, by recipient kind.",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.recipients} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify: metrics: %w", err)
		}
	}
	// Every series exists from the start, at 0, so rates and alerts work
	// before the first failure.
	for _, ch := range channels {
		for _, o := range outcomes {
			m.deliveries.WithLabelValues(ch, o)
		}
	}
	for _, k := range []domain.RecipientKind{domain.RecipientTeacher, domain.RecipientGuardian, domain.RecipientAdmin} {
		m.recipients.WithLabelValues(string(k))
	}
	return m, nil
}

func (m *metrics) delivered(channel, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(channel, outcome).Inc()
}

func (m *metrics) unresolved(kind string) {
	if m == nil {
		return
	}
	m.recipients.WithLabelValues(kind).Inc()
}
