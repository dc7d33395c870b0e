package kafka

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/notify"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// The consumers of the service's own topics: the read models, the
// workflows and the notification deliveries, one handler (so one consumer
// group) each, as serve runs them and the system tests and benchmarks
// mirror them.

// Names of the consumers' handlers, and so of their consumer groups
// (<topic prefix>.projection.<name>, <topic prefix>.saga.<name>,
// <topic prefix>.notify.delivery): constant, or the topics are consumed
// again from the start.
const (
	ProjectionHandlerPrefix = "projection."
	SagaHandlerPrefix       = "saga."
	NotifyDeliveryHandler   = "notify.delivery"
)

// ProjectionHandlers are the live consumers of the read models: one
// handler per projection over its channels.
func ProjectionHandlers(views *projections.Registry) []Handler {
	var hs []Handler
	for _, p := range views.Projections() {
		name := p.Name()
		h := storeHandler(ProjectionHandlerPrefix+name, p.Channels(),
			func(ctx context.Context, e eventstore.RecordedEvent) error { return views.Apply(ctx, name, e) },
			projections.ErrInvalidEvent, projections.ErrUnknownProjection)
		// A partition's waiting events go into the projection's next
		// transaction together (see Handler.HandleBatch).
		h.HandleBatch = func(ctx context.Context, es []Event) error {
			recs := make([]eventstore.RecordedEvent, len(es))
			bodies := make([]domain.Event, len(es))
			for i, e := range es {
				recs[i] = e.Recorded()
				bodies[i] = e.body // decoded when the consumer checked it
			}
			return views.ApplyBatch(projections.WithDecoded(ctx, recs, bodies), name, recs)
		}
		if w, ok := p.(projections.DeliveryWaiter); ok {
			h.FetchWait = w.DeliveryWait()
		}
		hs = append(hs, h)
	}
	return hs
}

// ProjectionLags reads, through l, the consumer lag of the read models'
// handlers (ProjectionHandlers) by projection name: what each has been
// given on its topics and not yet applied
// (projections.SystemSources.ConsumerLag). A read is served for
// projectionLagAge, and a caller waits for one a few seconds at most (see
// sampled).
func ProjectionLags(l *LagReader, views *projections.Registry) func(ctx context.Context) (map[string]int64, error) {
	handlers := map[string][]domain.Channel{}
	for _, h := range ProjectionHandlers(views) { // the consumers whose groups these are
		handlers[h.Name] = h.Channels
	}
	return sampled(func(ctx context.Context) (map[string]int64, error) {
		lag, err := l.Lag(ctx, handlers)
		if err != nil {
			return nil, err
		}
		out := make(map[string]int64, len(lag))
		for handler, n := range lag {
			out[strings.TrimPrefix(handler, ProjectionHandlerPrefix)] = n
		}
		return out, nil
	}, projectionLagAge, sampleWait, sampleStaleFor)
}

// projectionLagAge: consumers commit about once a second, so a fresher
// read would show nothing new.
const projectionLagAge = time.Second

// SagaHandlers are the workflows' consumers: one handler per saga of rt
// over its channels.
func SagaHandlers(rt *sagas.Runtime) []Handler {
	var hs []Handler
	for _, s := range rt.Sagas() {
		name := s.Name()
		hs = append(hs, storeHandler(SagaHandlerPrefix+name, s.Channels(),
			func(ctx context.Context, e eventstore.RecordedEvent) error { return rt.Handle(ctx, name, e) },
			sagas.ErrInvalidEvent, sagas.ErrUnknownSaga))
	}
	return hs
}

// NotifyHandler hands every in-app message (the communication channel) to
// the e-mail and webhook deliveries.
func NotifyHandler(d *notify.Dispatcher) Handler {
	return storeHandler(NotifyDeliveryHandler, []domain.Channel{domain.ChannelCommunication}, d.Handle,
		notify.ErrInvalidEvent)
}

// storeHandler is a handler that hands each event, as stored, to handle;
// an error matching one of permanent is one retrying cannot help.
func storeHandler(name string, channels []domain.Channel, handle func(context.Context, eventstore.RecordedEvent) error,
	permanent ...error) Handler {
	return Handler{
		Name:     name,
		Channels: channels,
		Handle: func(ctx context.Context, e Event) error {
			err := handle(ctx, e.Recorded())
			for _, p := range permanent {
				if errors.Is(err, p) {
					return Permanent(err)
				}
			}
			return err
		},
	}
}
