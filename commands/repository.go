// Package commands holds the application's write side: one file per
// command with its struct and handler. A handler loads the aggregate's
// stream, lets the domain decide, and appends the raised events with the
// loaded version as the expected one, retrying a bounded number of times
// when another writer got there first.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// EventStore is the part of the store port the command side uses.
type EventStore interface {
	Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error)
	ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error)
}

// Meta is who issues a command and why. It ends up in every event's
// metadata.
type Meta struct {
	// CommandID identifies this command instance. When set, the IDs of the
	// events it raises are derived from it, so issuing the same command
	// again (a saga redelivery, a retried request) appends nothing new.
	CommandID     string
	SchoolID      string
	Actor         Actor
	CorrelationID string
	CausationID   string
	RequestID     string
	// ExpectedVersion, when set (HTTP If-Match), is the version the
	// target aggregate must be at; a mismatch is a conflict, not retried.
	ExpectedVersion *uint64
}

// Result is what a command returns: the target aggregate, its stream, the
// stream's version after the command and the global position of its last
// event (the read-your-writes token is Stream:Version).
type Result struct {
	ID       string `json:"id"`
	Stream   string `json:"stream"`
	Version  uint64 `json:"version"`
	Position uint64 `json:"position"`
}

// ErrConcurrentUpdate is returned when an aggregate kept changing under a
// command for all its attempts, or did not match the caller's If-Match.
var ErrConcurrentUpdate = errors.New("commands: concurrent update")

// Repository loads aggregates from the store and appends their changes.
type Repository struct {
	store EventStore
	now   func() time.Time
	locks streamLocks
	cache streamCache
}

// NewRepository returns a repository over store. now is the clock commands
// read (injected so tests control time).
func NewRepository(store EventStore, now func() time.Time) *Repository {
	if now == nil {
		now = time.Now
	}
	return &Repository{store: store, now: now}
}

// Retries of Update on a version conflict. Within one process a stream's
// Updates take turns (streamLocks), so a conflict means another process
// (a replica, a CLI command) appended meanwhile; the retry waits a random
// time, growing with the attempts, so that writers who collided do not
// collide again at once, and reads only what was appended since.
const (
	// maxAttempts bounds the attempts of one Update (the context may end
	// it sooner). Conflicts between processes are short-lived: a writer
	// that lost this many rounds in a row is up against a stream hot
	// enough that the caller should hear of it.
	maxAttempts = 12
	// retryBackoff is the cap of the first retry's random wait; it doubles
	// per attempt up to maxRetryBackoff (full jitter: the wait is uniform
	// in [0, cap)). At most about 0.6s of waiting in all, 0.3s on average.
	retryBackoff    = 2 * time.Millisecond
	maxRetryBackoff = 100 * time.Millisecond
)

// backoff waits before attempt (2, 3, ...), or until ctx ends; it reports
// whether to go on.
func backoff(ctx context.Context, attempt int) bool {
	if ctx.Err() != nil {
		return false
	}
	ceiling := min(retryBackoff<<min(attempt-2, 16), maxRetryBackoff)
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Now is the repository's clock, in UTC.
func (r *Repository) Now() time.Time { return r.now().UTC() }

// Load reads an aggregate's stream and rebuilds it. blank returns the empty
// aggregate for the stream (known ID, version 0). In a context of
// WithReadCache, a stream read before in that context is not read again;
// otherwise only what was appended since the repository last read the
// stream is read (see streamCache). The records returned are shared:
// read them, never change them.
func Load[A domain.Aggregate](ctx context.Context, r *Repository, blank A) (A, []eventstore.RecordedEvent, error) {
	return load(ctx, r, blank, readCacheFrom(ctx))
}

// load is Load through cache c (none when nil). Update reads with no
// cache: what it decides on and appends after must be the stream as
// stored now.
func load[A domain.Aggregate](ctx context.Context, r *Repository, blank A, c *readCache) (A, []eventstore.RecordedEvent, error) {
	stream := blank.StreamID()
	recs, ok := c.get(stream)
	var decoded []domain.Event
	if !ok {
		var err error
		if recs, decoded, err = r.readStream(ctx, stream, nil, nil); err != nil {
			return blank, nil, err
		}
		c.put(stream, recs)
	}
	agg, err := rehydrate(blank, recs, decoded)
	return agg, recs, err
}

// rehydrate rebuilds blank from its stream's records, decoded unless
// decoded holds them already (only events no aggregate can change are
// shared: see streamCache).
func rehydrate[A domain.Aggregate](blank A, recs []eventstore.RecordedEvent, decoded []domain.Event) (A, error) {
	stream := blank.StreamID()
	history := decoded
	if len(history) != len(recs) {
		history = make([]domain.Event, 0, len(recs))
		for _, rec := range recs {
			e, err := domain.DecodeEvent(rec.Type, rec.Data)
			if err != nil {
				return blank, fmt.Errorf("stream %s version %d: %w", stream, rec.Version, err)
			}
			history = append(history, e)
		}
	}
	var version uint64
	if n := len(recs); n > 0 {
		version = recs[n-1].Version
	}
	return domain.Rehydrate(blank, history, version), nil
}

// Update runs one command against one aggregate: load, decide, append with
// the loaded version expected, and on a version conflict start over, a
// bounded number of times (see maxAttempts), after a random wait and
// reading only the events appended since. blank must return a fresh empty
// aggregate on every call. A decide error is returned as is (a domain
// error). With m.ExpectedVersion (If-Match) a stream at another version
// is a conflict at once, never retried.
//
// The Updates of one stream through one Repository take turns: they would
// only conflict with one another, and each conflict costs a read, a
// decision and an append that come to nothing.
func Update[A domain.Aggregate](ctx context.Context, r *Repository, m Meta, blank func() A, decide func(A) error) (Result, error) {
	stream := blank().StreamID()
	unlock, err := r.locks.lock(ctx, stream)
	if err != nil {
		return Result{}, fmt.Errorf("waiting for the other commands on stream %s: %w", stream, err)
	}
	defer unlock()
	cache := readCacheFrom(ctx)
	var (
		recs    []eventstore.RecordedEvent // the stream as read so far
		decoded []domain.Event
		lastErr error
	)
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 && !backoff(ctx, attempt) {
			return Result{}, fmt.Errorf("%w after %d attempts (%w): %w", ErrConcurrentUpdate, attempt-1, ctx.Err(), lastErr)
		}
		// Only what was appended since the last read, this Update's or an
		// earlier one's (see streamCache): stored events never change.
		var err error
		if recs, decoded, err = r.readStream(ctx, stream, recs, decoded); err != nil {
			return Result{}, err
		}
		agg, err := rehydrate(blank(), recs, decoded)
		if err != nil {
			return Result{}, err
		}
		cache.put(stream, recs) // as fresh as it gets
		res := Result{ID: agg.ID(), Stream: stream, Version: agg.Version()}
		if n := len(recs); n > 0 {
			res.Position = recs[n-1].Position
		}
		if done, ok := alreadyApplied(m, res.Stream, recs); ok {
			done.ID = res.ID
			return done, nil
		}
		if m.ExpectedVersion != nil && *m.ExpectedVersion != agg.Version() {
			return Result{}, &eventstore.ConflictError{Stream: res.Stream, Expected: eventstore.Exact(*m.ExpectedVersion), Actual: agg.Version()}
		}
		if err := decide(agg); err != nil {
			return Result{}, err
		}
		if res.ID == "" {
			res.ID = agg.ID()
		}
		changes := agg.Changes()
		if len(changes) == 0 {
			return res, nil
		}
		data, err := r.encode(m, res.Stream, changes)
		if err != nil {
			return Result{}, err
		}
		appended, err := r.store.Append(ctx, res.Stream, eventstore.Exact(agg.Version()), data)
		cache.forget(res.Stream) // whatever happened, it may have changed
		if errors.Is(err, eventstore.ErrVersionConflict) && m.ExpectedVersion == nil {
			lastErr = err
			continue
		}
		if err != nil {
			return Result{}, err
		}
		res.Version, res.Position = appended.Version, appended.Position
		return res, nil
	}
	return Result{}, fmt.Errorf("%w after %d attempts: %w", ErrConcurrentUpdate, maxAttempts, lastErr)
}

// streamLocks lets one Update per stream run at a time in this process.
// A stream's lock exists while someone holds or waits for it.
type streamLocks struct {
	mu    sync.Mutex
	locks map[string]*streamLock
}

type streamLock struct {
	turn  chan struct{} // holds a token while the lock is held
	users int           // holders and waiters; guarded by streamLocks.mu
}

// lock takes stream's lock, waiting for it until ctx ends.
func (l *streamLocks) lock(ctx context.Context, stream string) (unlock func(), err error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*streamLock{}
	}
	sl := l.locks[stream]
	if sl == nil {
		sl = &streamLock{turn: make(chan struct{}, 1)}
		l.locks[stream] = sl
	}
	sl.users++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if sl.users--; sl.users == 0 {
			delete(l.locks, stream)
		}
	}
	select {
	case sl.turn <- struct{}{}:
		return func() { <-sl.turn; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// Create is Update for a command that starts a new aggregate under an ID
// its caller minted (a message, an intervention): it decides on the blank
// aggregate and appends expecting no stream, without reading the stream
// first, which is empty but for a repeat of the command or an ID that is
// taken. A repeat appends the same event IDs, which the store recognises
// as done (an idempotent re-append) and answers with what is stored, as
// Update would. Anything else — a stream that exists, a decision that
// fails, an If-Match — takes Update's way: read, recognise the command's
// own events, decide on what is stored.
func Create[A domain.Aggregate](ctx context.Context, r *Repository, m Meta, blank func() A, decide func(A) error) (Result, error) {
	agg := blank()
	if m.ExpectedVersion != nil || agg.Version() != 0 || decide(agg) != nil {
		return Update(ctx, r, m, blank, decide)
	}
	changes := agg.Changes()
	if len(changes) == 0 {
		return Update(ctx, r, m, blank, decide)
	}
	res := Result{ID: agg.ID(), Stream: agg.StreamID()}
	data, err := r.encode(m, res.Stream, changes)
	if err != nil {
		return Result{}, err
	}
	appended, err := r.store.Append(ctx, res.Stream, eventstore.NoStream(), data)
	readCacheFrom(ctx).forget(res.Stream)
	if errors.Is(err, eventstore.ErrVersionConflict) || errors.Is(err, eventstore.ErrInvalidAppend) {
		return Update(ctx, r, m, blank, decide)
	}
	if err != nil {
		return Result{}, err
	}
	res.Version, res.Position = appended.Version, appended.Position
	return res, nil
}

// WithReadCache returns a context in which Load reads each stream once:
// a stream loaded again in ctx, or a context derived from it, is rebuilt
// from the first read, until a command run in it appends to the stream
// (the commands' own reads before they append are never served from it).
// It is for one short unit of work that reads the same aggregates several
// times — a saga handling an event, whose steps and the commands they
// issue each load the student, the class, the teacher — where a read a
// moment old is as good as it was a moment ago. Safe for concurrent use.
func WithReadCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, readCacheKey{}, &readCache{streams: map[string][]eventstore.RecordedEvent{}})
}

type readCacheKey struct{}

// readCache holds the streams read in a context of WithReadCache. A nil
// *readCache caches nothing.
type readCache struct {
	mu      sync.Mutex
	streams map[string][]eventstore.RecordedEvent
}

func readCacheFrom(ctx context.Context) *readCache {
	c, _ := ctx.Value(readCacheKey{}).(*readCache)
	return c
}

func (c *readCache) get(stream string) ([]eventstore.RecordedEvent, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, ok := c.streams[stream]
	return slices.Clone(recs), ok
}

func (c *readCache) put(stream string, recs []eventstore.RecordedEvent) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streams[stream] = slices.Clone(recs)
}

func (c *readCache) forget(stream string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.streams, stream)
}

// EventID is the ID of the i-th event a command raises on a stream. It is
// derived from the command ID, so the same command always raises the same
// event IDs and the store's idempotent append turns a repeat into a no-op.
func EventID(commandID, stream string, i int) uuid.UUID {
	return uuid.NewSHA1(eventIDSpace, fmt.Appendf(nil, "%s\x00%s\x00%d", commandID, stream, i))
}

var eventIDSpace = uuid.MustParse("0b6a3f57-51f4-4c33-9d4f-8a2f2b0c9e11")

// alreadyApplied finds the events of this very command in the stream and,
// if they are there, returns the result the command had.
func alreadyApplied(m Meta, stream string, recs []eventstore.RecordedEvent) (Result, bool) {
	if m.CommandID == "" {
		return Result{}, false
	}
	first := EventID(m.CommandID, stream, 0)
	for i, rec := range recs {
		if rec.ID != first {
			continue
		}
		last := rec
		for k := 1; i+k < len(recs) && recs[i+k].ID == EventID(m.CommandID, stream, k); k++ {
			last = recs[i+k]
		}
		return Result{Stream: stream, Version: last.Version, Position: last.Position}, true
	}
	return Result{}, false
}

func (r *Repository) encode(m Meta, stream string, changes []domain.Event) ([]eventstore.EventData, error) {
	meta := eventstore.Metadata{
		SchoolID:      m.SchoolID,
		ActorID:       m.Actor.ID,
		ActorRole:     m.Actor.PrimaryRole(),
		CorrelationID: m.CorrelationID,
		CausationID:   m.CausationID,
		RequestID:     m.RequestID,
	}
	out := make([]eventstore.EventData, len(changes))
	for i, e := range changes {
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		id := uuid.New()
		if m.CommandID != "" {
			id = EventID(m.CommandID, stream, i)
		}
		out[i] = eventstore.EventData{ID: id, Type: e.EventType(), Data: body, Metadata: meta}
	}
	return out, nil
}
