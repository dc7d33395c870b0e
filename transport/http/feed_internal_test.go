package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// chanStore is an eventstore.Store whose log is fed by the test: the
// subscription delivers what the test sends on events, or fails with what
// it sends on fail.
type chanStore struct {
	eventstore.Store // nil: the hub uses only Head and SubscribeAll
	head             eventstore.Position
	events           chan eventstore.RecordedEvent
	fail             chan error
	mu               sync.Mutex
	subscriptions    int
}

func newChanStore(head eventstore.Position) *chanStore {
	return &chanStore{head: head, events: make(chan eventstore.RecordedEvent), fail: make(chan error)}
}

func (s *chanStore) Head(context.Context) (eventstore.Position, error) { return s.head, nil }

func (s *chanStore) SubscribeAll(ctx context.Context, _ eventstore.Position, fn func(context.Context, eventstore.RecordedEvent) error) error {
	s.mu.Lock()
	s.subscriptions++
	s.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-s.fail:
			return err
		case e := <-s.events:
			if err := fn(ctx, e); err != nil {
				return err
			}
		}
	}
}

func rec(pos eventstore.Position) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{ID: uuid.New(), StreamID: "s", Version: 1, Position: pos, Type: "teacher.created.v1",
		Data: []byte(`{}`), Metadata: eventstore.Metadata{SchoolID: "a"}}
}

// publishWait sends events through the subscription and waits until the
// hub has them.
func publishWait(t *testing.T, h *feedHub, s *chanStore, positions ...eventstore.Position) {
	t.Helper()
	for _, p := range positions {
		changed := h.changedCh()
		s.events <- rec(p)
		<-changed
	}
}

func positions(evs []*feedEvent) []eventstore.Position {
	out := make([]eventstore.Position, len(evs))
	for i, e := range evs {
		out[i] = e.position
	}
	return out
}

func equalPositions(a []eventstore.Position, b ...eventstore.Position) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFeedHubJoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newChanStore(10)
	h := newFeedHub(s, slog.New(slog.DiscardHandler), 3, 100)
	defer h.close()

	// Positions need not be increasing: the log's order is the store's.
	live, err := h.joinLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// At the start, joining after the head (the subscription's start)
	// gives everything since.
	fromBase, ok, err := h.joinAfter(ctx, 10)
	if err != nil || !ok {
		t.Fatalf("join at the base: ok=%v err=%v", ok, err)
	}
	publishWait(t, h, s, 12, 11, 15)
	if got := positions(live.take()); !equalPositions(got, 12, 11, 15) {
		t.Errorf("live client got %v", got)
	}
	if got := positions(fromBase.take()); !equalPositions(got, 12, 11, 15) {
		t.Errorf("client joined at the base got %v", got)
	}
	// In the ring: the events after it.
	mid, ok, _ := h.joinAfter(ctx, 11)
	if !ok {
		t.Fatal("join at 11 (in the ring) refused")
	}
	if got := positions(mid.take()); !equalPositions(got, 15) {
		t.Errorf("joined after 11: %v", got)
	}
	// The ring holds 3: 12 leaves it, and the base is no join point any
	// more (events after it were lost from memory).
	publishWait(t, h, s, 16)
	for _, p := range []eventstore.Position{12, 10, 99} {
		if _, ok, _ := h.joinAfter(ctx, p); ok {
			t.Errorf("join after %d accepted: not in the ring", p)
		}
	}
	if sub, ok, _ := h.joinAfter(ctx, 16); !ok || len(sub.take()) != 0 {
		t.Error("join at the last event: want ok with nothing queued")
	}
}

func TestFeedHubDropsSlowClientsAndRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newChanStore(0)
	h := newFeedHub(s, slog.New(slog.DiscardHandler), 10, 2)
	defer h.close()
	slow, _ := h.joinLive(ctx)
	fast, _ := h.joinLive(ctx)
	publishWait(t, h, s, 1, 2)
	fast.take()
	publishWait(t, h, s, 3)
	select {
	case <-slow.gone:
		if slow.why != dropLagging {
			t.Errorf("dropped because %q", slow.why)
		}
		if got := positions(slow.take()); !equalPositions(got, 1, 2) {
			t.Errorf("the slow client keeps %v, want what was queued before the drop", got)
		}
	default:
		t.Fatal("a client over its queue limit was not dropped")
	}
	if got := positions(fast.take()); !equalPositions(got, 3) {
		t.Errorf("fast client: %v", got)
	}

	// The subscription fails: every client is dropped; the next join
	// starts a new one.
	s.fail <- errors.New("database gone")
	select {
	case <-fast.gone:
		if fast.why != dropStopped {
			t.Errorf("dropped because %q", fast.why)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("clients not dropped when the subscription failed")
	}
	again, err := h.joinLive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	publishWait(t, h, s, 4)
	if got := positions(again.take()); !equalPositions(got, 4) {
		t.Errorf("after the restart: %v", got)
	}
	s.mu.Lock()
	n := s.subscriptions
	s.mu.Unlock()
	if n != 2 {
		t.Errorf("%d subscriptions, want 2", n)
	}

	h.close()
	select {
	case <-again.gone:
	default:
		t.Error("close did not end the clients")
	}
	if _, err := h.joinLive(ctx); !errors.Is(err, errFeedClosed) {
		t.Errorf("join after close: %v", err)
	}
}
