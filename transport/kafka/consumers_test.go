package kafka_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

type sagaStub struct{}

func (sagaStub) Name() string               { return "stub_flow" }
func (sagaStub) Channels() []domain.Channel { return []domain.Channel{domain.ChannelTeacher} }
func (sagaStub) Correlate(sagas.Trigger) (sagas.Route, bool) {
	return sagas.Route{}, false
}
func (sagaStub) Handle(context.Context, *sagas.Instance, sagas.Trigger) error    { return nil }
func (sagaStub) Deadline(context.Context, *sagas.Instance, sagas.Deadline) error { return nil }

func TestSagaHandlers(t *testing.T) {
	t.Parallel()
	rt, err := sagas.NewRuntime(sagas.Config{Pool: pgtest.NewPool(t)}, sagaStub{})
	if err != nil {
		t.Fatal(err)
	}
	hs := kafka.SagaHandlers(rt)
	if len(hs) != 1 || hs[0].Name != "saga.stub_flow" || !slices.Equal(hs[0].Channels, []domain.Channel{domain.ChannelTeacher}) {
		t.Fatalf("handlers = %+v", hs)
	}
	// A body that does not decode can never be handled: dead-lettered at
	// once, not retried.
	err = hs[0].Handle(t.Context(), kafka.Event{ID: uuid.New(), Type: "teacher.created.v1", Stream: "teacher-1", Version: 1,
		Data: json.RawMessage(`{"teacherId": 7}`)})
	if !kafka.IsPermanent(err) {
		t.Errorf("undecodable event: %v, want a permanent error", err)
	}
	if err := hs[0].Handle(t.Context(), kafka.Event{ID: uuid.New(), Type: "teacher.created.v1", Stream: "teacher-1", Version: 1,
		Data: json.RawMessage(`{"teacherId": "t1"}`)}); err != nil {
		t.Errorf("an event the saga ignores: %v", err)
	}
}

func TestNotifyHandler(t *testing.T) {
	t.Parallel()
	h := kafka.NotifyHandler(nil)
	if h.Name != "notify.delivery" || !slices.Equal(h.Channels, []domain.Channel{domain.ChannelCommunication}) {
		t.Errorf("handler = %+v", h)
	}
}

// Monitoring, which follows every channel and counts per minute, takes
// its events in fewer fetches; every other read model at once.
func TestProjectionHandlersFetchWait(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	views, err := projections.NewRegistry(projections.Config{DB: pool, Store: postgres.New(pool)}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	hs := kafka.ProjectionHandlers(views)
	if len(hs) != len(projections.All()) {
		t.Fatalf("%d handlers for %d projections", len(hs), len(projections.All()))
	}
	for _, h := range hs {
		want := time.Duration(0)
		if h.Name == kafka.ProjectionHandlerPrefix+"monitoring" {
			want = 250 * time.Millisecond
		}
		if h.FetchWait != want {
			t.Errorf("%s: fetch wait %s, want %s", h.Name, h.FetchWait, want)
		}
	}
}

// The read models' lags are read from their handlers' consumer groups and
// named by projection: a message on the teacher topic is lag for the read
// models of that channel only.
func TestProjectionLagsNameTheReadModels(t *testing.T) {
	t.Parallel()
	f := newConsumerFixture(t)
	pool := pgtest.NewPool(t)
	views, err := projections.NewRegistry(projections.Config{DB: pool, Store: postgres.New(pool)}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	l := kafka.NewLagReader(f.cfg)
	t.Cleanup(func() { _ = l.Close() })
	f.publish(testEvent(domain.TeacherPreferencesUpdatedType, "teacher-1", 1))

	lag, err := kafka.ProjectionLags(l, views)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(lag) != len(projections.All()) {
		t.Errorf("lags of %d read models, want %d: %v", len(lag), len(projections.All()), lag)
	}
	for _, p := range projections.All() {
		want := int64(0)
		if slices.Contains(p.Channels(), domain.ChannelTeacher) {
			want = 1
		}
		if lag[p.Name()] != want {
			t.Errorf("lag of %s = %d, want %d", p.Name(), lag[p.Name()], want)
		}
	}
}
