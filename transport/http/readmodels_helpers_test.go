package httpapi_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/projections"
)

// readModels are every projection over the test's database, fed from the
// store's log by one subscription, as the service feeds them from Kafka:
// each event applied to each projection (a projection ignores the
// channels it does not consume). Pause holds the feed, to make a query
// wait for a write.
type readModels struct {
	reg     *projections.Registry
	gate    sync.RWMutex // held (write) while paused
	mu      sync.Mutex
	err     error  // the first apply failure
	applied uint64 // events applied to every projection
}

func newReadModels(t *testing.T, pool *pgxpool.Pool, store eventstore.Store) *readModels {
	t.Helper()
	reg, err := projections.NewRegistry(projections.Config{DB: pool, Store: store}, projections.All()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := reg.Setup(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	m := &readModels{reg: reg}
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := store.SubscribeAll(ctx, 0, func(ctx context.Context, ev eventstore.RecordedEvent) error {
			m.gate.RLock()
			defer m.gate.RUnlock()
			for _, name := range reg.Names() {
				if err := reg.Apply(ctx, name, ev); err != nil {
					return err
				}
			}
			m.mu.Lock()
			m.applied++
			m.mu.Unlock()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			m.mu.Lock()
			m.err = err
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.err != nil {
			t.Errorf("feeding the read models: %v", m.err)
		}
	})
	return m
}

func (m *readModels) pause()  { m.gate.Lock() }
func (m *readModels) resume() { m.gate.Unlock() }

// settle waits until every event in the store is in the read models.
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		want := e.head()
		e.models.mu.Lock()
		got, err := e.models.applied, e.models.err
		e.models.mu.Unlock()
		if err != nil {
			e.t.Fatalf("feeding the read models: %v", err)
		}
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the read models applied %d of %d events in 20s", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
