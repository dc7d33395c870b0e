package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The live feed's shared subscription (feedHub) and the events it carries.
// The HTTP side (one Server-Sent Events response per client) is live.go.
//
// One subscription to the store's global log serves every client of the
// process, however many there are: the postgres adapter holds a LISTEN
// connection per subscription, so one per client would exhaust the pool.
// The hub keeps the last events in a ring, so a client resuming with
// Last-Event-ID from a recent event joins from memory; an older one first
// catches up from the store (ReadAll) until it meets the ring.

// feedEvent is one event of the log as the live feed sends it, built once
// and shared by every client.
type feedEvent struct {
	position eventstore.Position
	school   string
	channel  domain.Channel // "" for a type this build does not know
	// parties are the IDs of the people the event is addressed to or
	// about by name (recipients, meeting participants, a teacher's own
	// record): what a personal (teacher or guardian) feed shows.
	parties []string
	frame   []byte // the whole SSE message, ready to write
}

// liveEvent is the JSON in an SSE message's data.
type liveEvent struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Channel  domain.Channel  `json:"channel,omitempty"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Position uint64          `json:"position"`
	Time     time.Time       `json:"time"`
	Data     json.RawMessage `json:"data"`
	Metadata liveMetadata    `json:"metadata"`
}

// liveMetadata is the event's metadata without the request ID: that ties
// an event to the server's logs, which are not the clients' business.
type liveMetadata struct {
	SchoolID      string `json:"schoolId"`
	ActorID       string `json:"actorId"`
	ActorRole     string `json:"actorRole,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	CausationID   string `json:"causationId,omitempty"`
}

func newFeedEvent(r eventstore.RecordedEvent) *feedEvent {
	ch, _ := domain.ChannelOf(r.Type)
	data := json.RawMessage(r.Data)
	if !json.Valid(data) { // keep the message valid whatever an adapter stored
		data, _ = json.Marshal(string(r.Data))
	}
	body, err := json.Marshal(liveEvent{
		ID: r.ID.String(), Type: r.Type, Channel: ch, Stream: r.StreamID, Version: r.Version,
		Position: r.Position, Time: r.RecordedAt.UTC(), Data: data,
		Metadata: liveMetadata{SchoolID: r.Metadata.SchoolID, ActorID: r.Metadata.ActorID,
			ActorRole: r.Metadata.ActorRole, CorrelationID: r.Metadata.CorrelationID, CausationID: r.Metadata.CausationID},
	})
	if err != nil { // cannot happen: every field marshals
		body = []byte(`{}`)
	}
	var b strings.Builder
	b.Grow(len(body) + len(r.Type) + 40)
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(r.Position, 10))
	b.WriteString("\nevent: ")
	b.WriteString(sseField(r.Type))
	b.WriteString("\ndata: ")
	b.Write(body) // json.Marshal never writes a newline
	b.WriteString("\n\n")
	return &feedEvent{position: r.Position, school: r.Metadata.SchoolID, channel: ch,
		parties: partiesOf(r), frame: []byte(b.String())}
}

// sseField keeps a value on its line: a newline would end the field.
func sseField(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// partiesOf lists who an event names as its addressees or subjects, from
// the event alone (no lookups): a message's sender and recipients, a
// meeting's teacher and guardian where the event carries them, a teacher's
// calendar, a teacher's own record. Personal feeds show these events only.
func partiesOf(r eventstore.RecordedEvent) []string {
	var p struct {
		From       string             `json:"from"`
		Recipients []domain.Recipient `json:"recipients"`
		TeacherID  string             `json:"teacherId"`
		GuardianID string             `json:"guardianId"`
	}
	var out []string
	add := func(ids ...string) {
		for _, id := range ids {
			if id != "" {
				out = append(out, id)
			}
		}
	}
	switch r.Type {
	case domain.MessageSentType:
		if json.Unmarshal(r.Data, &p) == nil {
			add(p.From)
			for _, rc := range p.Recipients {
				add(rc.ID)
			}
		}
	case domain.MeetingRequestedType, domain.MeetingScheduledType,
		domain.CalendarSlotBookedType, domain.CalendarSlotReleasedType:
		if json.Unmarshal(r.Data, &p) == nil {
			add(p.TeacherID, p.GuardianID)
		}
	}
	if id, ok := strings.CutPrefix(r.StreamID, "teacher-"); ok {
		add(id)
	}
	return out
}

// feedSub is one client's place in the hub: the events published since it
// joined, queued until its connection writes them.
type feedSub struct {
	mu    sync.Mutex
	queue []*feedEvent
	wake  chan struct{} // a token when the queue gains events
	gone  chan struct{} // closed when the hub drops the client
	why   string        // why it was dropped, for the log
}

func newFeedSub() *feedSub {
	return &feedSub{wake: make(chan struct{}, 1), gone: make(chan struct{})}
}

// take empties the queue.
func (s *feedSub) take() []*feedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// push queues evs; false if that would pass limit (the client is too slow).
func (s *feedSub) push(limit int, evs ...*feedEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue)+len(evs) > limit {
		return false
	}
	s.queue = append(s.queue, evs...)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// Reasons a client is dropped.
const (
	dropLagging  = "the client fell too far behind"
	dropStopped  = "the shared subscription stopped"
	dropShutdown = "the server is shutting down"
)

// errFeedClosed: the server is shutting down.
var errFeedClosed = errors.New("httpapi: live feed closed")

// feedHub is the one subscription to the global log shared by all clients.
// It starts with the first client and runs until Close; if the store fails
// it drops its clients (they reconnect with Last-Event-ID and lose
// nothing) and the next client starts it afresh.
type feedHub struct {
	store    eventstore.Store
	logger   *slog.Logger
	ringCap  int // events kept for joins by position
	queueCap int // events queued for one client before it is dropped

	startMu sync.Mutex // serialises starts (Head is I/O: not under mu)

	mu      sync.Mutex
	closed  bool
	running bool
	stop    context.CancelFunc
	done    chan struct{} // closed when the running subscription has ended
	// ring holds the last events received, oldest first, circularly: the
	// event numbered seq is at ring[(seq-1) % ringCap].
	ring  []*feedEvent
	seq   uint64                         // events received since the start
	index map[eventstore.Position]uint64 // position -> seq, for the ring's events
	base  eventstore.Position            // the subscription started after this event
	subs  map[*feedSub]struct{}
	// changed is closed (and replaced) on every event: it wakes the
	// clients catching up from the store that wait for the hub.
	changed chan struct{}
}

func newFeedHub(store eventstore.Store, logger *slog.Logger, ringCap, queueCap int) *feedHub {
	return &feedHub{store: store, logger: logger, ringCap: ringCap, queueCap: queueCap,
		subs: map[*feedSub]struct{}{}, changed: make(chan struct{})}
}

// ensure starts the subscription unless it runs.
func (h *feedHub) ensure(ctx context.Context) error {
	h.mu.Lock()
	running, closed := h.running, h.closed
	h.mu.Unlock()
	if closed {
		return errFeedClosed
	}
	if running {
		return nil
	}
	h.startMu.Lock()
	defer h.startMu.Unlock()
	h.mu.Lock()
	running, closed = h.running, h.closed
	h.mu.Unlock()
	if closed {
		return errFeedClosed
	}
	if running {
		return nil
	}
	head, err := h.store.Head(ctx)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		stop()
		return errFeedClosed
	}
	h.running, h.stop, h.done = true, stop, done
	h.ring = make([]*feedEvent, h.ringCap)
	h.seq, h.base = 0, head
	h.index = make(map[eventstore.Position]uint64, h.ringCap)
	h.mu.Unlock()
	go h.run(runCtx, head, done)
	return nil
}

func (h *feedHub) run(ctx context.Context, after eventstore.Position, done chan struct{}) {
	defer close(done)
	err := h.store.SubscribeAll(ctx, after, func(_ context.Context, r eventstore.RecordedEvent) error {
		h.publish(newFeedEvent(r))
		return nil
	})
	why := dropShutdown
	if ctx.Err() == nil {
		why = dropStopped
		h.logger.Error("live feed: the subscription to the event log failed; clients will reconnect", "err", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running = false
	h.stop()
	for sub := range h.subs {
		h.dropLocked(sub, why)
	}
}

// publish adds an event to the ring and every client's queue.
func (h *feedHub) publish(ev *feedEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	slot := (h.seq - 1) % uint64(h.ringCap)
	if old := h.ring[slot]; old != nil {
		delete(h.index, old.position)
	}
	h.ring[slot] = ev
	h.index[ev.position] = h.seq
	for sub := range h.subs {
		if !sub.push(h.queueCap, ev) {
			h.dropLocked(sub, dropLagging)
		}
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *feedHub) dropLocked(sub *feedSub, why string) {
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	sub.why = why
	close(sub.gone)
}

// joinLive registers a client for the events from now on.
func (h *feedHub) joinLive(ctx context.Context) (*feedSub, error) {
	if err := h.ensure(ctx); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return nil, errors.New("httpapi: live feed subscription stopped")
	}
	sub := newFeedSub()
	h.subs[sub] = struct{}{}
	return sub, nil
}

// joinAfter registers a client for the events after the one at position
// p, if the hub can serve them all: p is in the ring, or p is where the
// subscription started and nothing has left the ring yet. Otherwise ok is
// false and the client must read the store further first.
func (h *feedHub) joinAfter(ctx context.Context, p eventstore.Position) (sub *feedSub, ok bool, err error) {
	if err := h.ensure(ctx); err != nil {
		return nil, false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return nil, false, nil
	}
	from, found := h.index[p] // serve the events numbered from+1 ... seq
	if !found {
		if p != h.base || h.seq > uint64(h.ringCap) {
			return nil, false, nil
		}
		from = 0
	}
	sub = newFeedSub()
	backlog := make([]*feedEvent, 0, h.seq-from)
	for s := from + 1; s <= h.seq; s++ {
		backlog = append(backlog, h.ring[(s-1)%uint64(h.ringCap)])
	}
	if !sub.push(max(h.queueCap, len(backlog)), backlog...) {
		return nil, false, nil
	}
	h.subs[sub] = struct{}{}
	return sub, true, nil
}

// changedCh is closed at the next event.
func (h *feedHub) changedCh() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

func (h *feedHub) leave(sub *feedSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, sub)
}

// close stops the subscription and ends every client's stream; no client
// can join afterwards.
func (h *feedHub) close() {
	h.startMu.Lock() // no start in progress
	defer h.startMu.Unlock()
	h.mu.Lock()
	h.closed = true
	stop, done, running := h.stop, h.done, h.running
	for sub := range h.subs {
		h.dropLocked(sub, dropShutdown)
	}
	h.mu.Unlock()
	if running {
		stop()
		<-done
	}
}
