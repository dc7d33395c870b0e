package commands

import (
	"container/list"
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The stream cache: a Repository keeps the streams it read, so that the
// next load of a stream reads from the store only what was appended since
// (ReadStream after the last version it holds) instead of the whole
// stream again. A student's performance record grows with every grade;
// without it every RecordPerformance would read, send and decode the
// student's whole history.
//
// It is a cache of facts, not of state: stored events never change and a
// stream's versions have no gaps, so a prefix read earlier is still the
// stream's prefix, and every load still reads the store for what follows
// it — what a command decides on is the stream as stored now, whichever
// process appended to it. Decoded events are kept too when their Go
// types hold nothing an aggregate could change in place (no slices, maps
// or pointers); the others are decoded afresh for every aggregate.

// maxCachedEvents bounds the events the cache holds, over all streams;
// the streams used least recently go first. About 1 KB each (the record
// and, when shared, the decoded event): some 20 MB at most, twice that
// with the room the slices keep to grow (see extend).
const maxCachedEvents = 20_000

type streamCache struct {
	mu     sync.Mutex
	events int
	lru    list.List // of *cachedStream, most recently used first
	byName map[string]*list.Element
}

type cachedStream struct {
	stream  string
	recs    []eventstore.RecordedEvent
	decoded []domain.Event // recs decoded, when all are shareable; else nil
}

// get returns what the cache holds of stream (nothing: nil). The slices
// are the caller's to read, not to change; appending to them copies.
func (c *streamCache) get(stream string) ([]eventstore.RecordedEvent, []domain.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		return nil, nil
	}
	c.lru.MoveToFront(el)
	cs := el.Value.(*cachedStream)
	n := len(cs.recs)
	var decoded []domain.Event
	if cs.decoded != nil {
		decoded = cs.decoded[:n:n]
	}
	return cs.recs[:n:n], decoded
}

// extend returns recs followed by more, and decoded followed by
// moreDecoded (nil unless both are the records decoded), and puts them in
// the cache. recs and decoded are what the caller read of stream before.
// A stream that grows by an event costs that event, not a copy of the
// stream: the cache's slices keep room to grow, and whoever holds all of
// a cached stream appends into that room in place. Slices handed out are
// clipped to their length, so no one else reads or writes past it, and
// the cached length moves on in the same lock, so the room is written
// once. Any other extension is a copy, made outside the lock.
func (c *streamCache) extend(stream string, recs []eventstore.RecordedEvent, decoded []domain.Event, more []eventstore.RecordedEvent, moreDecoded []domain.Event) ([]eventstore.RecordedEvent, []domain.Event) {
	// Decoded only if every record is: the ones before and the new ones.
	withDecoded := moreDecoded != nil && len(decoded) == len(recs)
	if !withDecoded {
		decoded = nil
	}
	n := len(recs) + len(more)
	keep := n <= maxCachedEvents
	c.mu.Lock()
	if !keep {
		// Too long to keep: its room may not be written in place, since
		// the cached length would not move on.
		c.dropLocked(stream)
	} else if el, ok := c.byName[stream]; ok {
		cs := el.Value.(*cachedStream)
		if fits(cs.recs, recs, more) && (!withDecoded || fits(cs.decoded, decoded, moreDecoded)) {
			recs = append(cs.recs, more...)
			if withDecoded {
				decoded = append(cs.decoded, moreDecoded...)
			}
			c.putLocked(stream, recs, decoded)
			c.mu.Unlock()
			return clip(recs, decoded)
		}
	}
	c.mu.Unlock()
	recs = grown(recs, more, keep)
	if withDecoded {
		decoded = grown(decoded, moreDecoded, keep)
	}
	if keep {
		c.mu.Lock()
		c.putLocked(stream, recs, decoded)
		c.mu.Unlock()
	}
	return clip(recs, decoded)
}

// fits reports whether s, extended by more, can be appended in cached's
// room: s is all of cached (the same array, the same length) and the room
// is large enough.
func fits[T any](cached, s, more []T) bool {
	return len(s) > 0 && len(s) == len(cached) && &s[0] == &cached[0] && cap(cached)-len(cached) >= len(more)
}

// grown is s followed by more in a new array, with room for as many again
// when it is to be cached.
func grown[T any](s, more []T, room bool) []T {
	size := len(s) + len(more)
	if room {
		size *= 2
	}
	out := make([]T, len(s), size)
	copy(out, s)
	return append(out, more...)
}

// clip clips the slices handed out to their length (decoded may be nil).
func clip(recs []eventstore.RecordedEvent, decoded []domain.Event) ([]eventstore.RecordedEvent, []domain.Event) {
	n := len(recs)
	if decoded != nil {
		decoded = decoded[:n:n]
	}
	return recs[:n:n], decoded
}

// putLocked records stream as read up to its last record, unless the
// cache holds more of it already (a concurrent load read further).
func (c *streamCache) putLocked(stream string, recs []eventstore.RecordedEvent, decoded []domain.Event) {
	if len(recs) == 0 || len(recs) > maxCachedEvents {
		return
	}
	if c.byName == nil {
		c.byName = map[string]*list.Element{}
	}
	if el, ok := c.byName[stream]; ok {
		cs := el.Value.(*cachedStream)
		c.lru.MoveToFront(el)
		if len(cs.recs) >= len(recs) {
			return
		}
		c.events += len(recs) - len(cs.recs)
		cs.recs, cs.decoded = recs, decoded
	} else {
		c.byName[stream] = c.lru.PushFront(&cachedStream{stream: stream, recs: recs, decoded: decoded})
		c.events += len(recs)
	}
	for c.events > maxCachedEvents {
		el := c.lru.Back()
		cs := el.Value.(*cachedStream)
		c.lru.Remove(el)
		delete(c.byName, cs.stream)
		c.events -= len(cs.recs)
	}
}

// drop forgets stream.
func (c *streamCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(stream)
}

func (c *streamCache) dropLocked(stream string) {
	if el, ok := c.byName[stream]; ok {
		c.lru.Remove(el)
		delete(c.byName, stream)
		c.events -= len(el.Value.(*cachedStream).recs)
	}
}

// readStream returns stream as stored now: what the cache holds of it and
// what the store has after that (all of it when the cache holds nothing),
// with the records decoded when they may be shared (else decoded nil).
// known, when not empty, is what the caller read of the stream before, a
// prefix at least as long as the cache's.
func (r *Repository) readStream(ctx context.Context, stream string, known []eventstore.RecordedEvent, knownDecoded []domain.Event) ([]eventstore.RecordedEvent, []domain.Event, error) {
	recs, decoded := known, knownDecoded
	if len(recs) == 0 {
		recs, decoded = r.cache.get(stream)
	}
	var after eventstore.Version
	if n := len(recs); n > 0 {
		after = recs[n-1].Version
	}
	more, err := r.store.ReadStream(ctx, stream, after, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if len(more) > 0 && more[0].Version != after+1 {
		// Not the continuation of what we held (which cannot be: events
		// are never deleted): read it all again.
		r.cache.drop(stream)
		recs, decoded = nil, nil
		if more, err = r.store.ReadStream(ctx, stream, 0, 0); err != nil {
			return nil, nil, fmt.Errorf("read stream %s: %w", stream, err)
		}
	}
	if len(more) == 0 {
		return recs, decoded, nil
	}
	shareable := len(recs) == 0 || decoded != nil
	var moreDecoded []domain.Event
	if shareable {
		moreDecoded = make([]domain.Event, len(more))
		for i, rec := range more {
			e, err := domain.DecodeEvent(rec.Type, rec.Data)
			if err != nil {
				return nil, nil, fmt.Errorf("stream %s version %d: %w", stream, rec.Version, err)
			}
			if !shareableEvent(e) {
				shareable = false
				break
			}
			moreDecoded[i] = e
		}
	}
	if !shareable {
		moreDecoded = nil
	}
	recs, decoded = r.cache.extend(stream, recs, decoded, more, moreDecoded)
	return recs, decoded, nil
}

// shareableEvent reports whether e's Go type is made of values only, so
// that every aggregate that applies it gets its own copy.
func shareableEvent(e domain.Event) bool {
	t := reflect.TypeOf(e)
	if v, ok := shareableTypes.Load(t); ok {
		return v.(bool)
	}
	ok := valuesOnly(t)
	shareableTypes.Store(t, ok)
	return ok
}

var shareableTypes sync.Map // reflect.Type -> bool

var timeType = reflect.TypeFor[time.Time]()

func valuesOnly(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return valuesOnly(t.Elem())
	case reflect.Struct:
		if t == timeType {
			return true // its *Location is never changed
		}
		for f := range t.Fields() {
			if !valuesOnly(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}
