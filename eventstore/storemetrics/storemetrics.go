// Package storemetrics instruments any event store with Prometheus
// metrics: append latency by stream category and outcome, and version
// conflicts. It decorates the port, so every adapter gets the same figures.
package storemetrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Store is an eventstore.Store that records metrics of its appends.
type Store struct {
	eventstore.Store
	latency   *prometheus.HistogramVec
	events    *prometheus.CounterVec
	conflicts *prometheus.CounterVec
}

var _ eventstore.Store = (*Store)(nil)

// Wrap instruments store, registering its metrics on reg.
func Wrap(store eventstore.Store, reg prometheus.Registerer) (*Store, error) {
	s := &Store{
		Store: store,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventstore_append_duration_seconds",
			Help:    "Latency of event store appends, by stream category and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"category", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventstore_appended_events_total",
			Help: "Events appended, by stream category.",
		}, []string{"category"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventstore_append_conflicts_total",
			Help: "Appends refused because the stream was not at the expected version, by stream category.",
		}, []string{"category"}),
	}
	for _, c := range []prometheus.Collector{s.latency, s.events, s.conflicts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Ping checks that the wrapped store's server answers, when the store can
// tell (KurrentDB); others have nothing to check and answer nil.
func (s *Store) Ping(ctx context.Context) error {
	if p, ok := s.Store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Append appends through the wrapped store and records how it went.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	res, err := s.Store.Append(ctx, stream, expected, events)
	category := Category(stream)
	outcome := "ok"
	switch {
	case errors.Is(err, eventstore.ErrVersionConflict):
		outcome = "conflict"
		s.conflicts.WithLabelValues(category).Inc()
	case errors.Is(err, eventstore.ErrInvalidAppend):
		outcome = "invalid"
	case err != nil:
		outcome = "error"
	default:
		s.events.WithLabelValues(category).Add(float64(len(events)))
	}
	s.latency.WithLabelValues(category, outcome).Observe(time.Since(start).Seconds())
	return res, err
}

// Category is a stream's kind, the part of its name before the first "-"
// ("teacher-<id>" is "teacher"): a label of bounded cardinality.
func Category(stream string) string {
	if c := eventstore.Category(stream); c != "" && c != stream {
		return c
	}
	return "other"
}
