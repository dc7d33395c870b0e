package commands

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// valuesOnlyOf is valuesOnly of v's type.
func valuesOnlyOf(v any) bool { return valuesOnly(reflect.TypeOf(v)) }

// Only events made of values are shared between aggregates: an aggregate
// may keep a slice or map of its event and change it later.
func TestShareableEvent(t *testing.T) {
	t.Parallel()
	type withMap struct {
		domain.PerformanceRecorded
		Extra map[string]int
	}
	type withPointer struct{ At *time.Time }
	type withArray struct{ Marks [3]float64 }
	for _, c := range []struct {
		e    any
		want bool
	}{
		{domain.PerformanceRecorded{}, true},
		{domain.StudentEnrolled{}, false}, // Guardians []Guardian
		{withMap{}, false},
		{withPointer{}, false},
		{withArray{}, true},
	} {
		if got := valuesOnlyOf(c.e); got != c.want {
			t.Errorf("%T: shareable %v, want %v", c.e, got, c.want)
		}
	}
	if !shareableEvent(domain.PerformanceRecorded{}) || shareableEvent(domain.StudentEnrolled{}) {
		t.Error("shareableEvent disagrees")
	}
}

// put is putLocked with the lock.
func (c *streamCache) put(stream string, recs []eventstore.RecordedEvent, decoded []domain.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(stream, recs, decoded)
}

// The cache holds at most maxCachedEvents events; the streams used least
// recently go first, and a shorter read never replaces a longer one.
func TestStreamCacheBound(t *testing.T) {
	t.Parallel()
	recs := func(n int) []eventstore.RecordedEvent {
		out := make([]eventstore.RecordedEvent, n)
		for i := range out {
			out[i].Version = uint64(i + 1)
		}
		return out
	}
	var c streamCache
	third := maxCachedEvents / 3
	c.put("a", recs(third), nil)
	c.put("b", recs(third), nil)
	c.put("c", recs(third), nil)
	if got, _ := c.get("a"); len(got) != third { // a is now the most recent
		t.Fatalf("a: %d records, want %d", len(got), third)
	}
	c.put("b", recs(2), nil)
	if got, _ := c.get("b"); len(got) != third {
		t.Errorf("b: %d records after a shorter put, want %d", len(got), third)
	}
	c.put("d", recs(third), nil) // over the bound: c, the least recent, goes
	if got, _ := c.get("c"); got != nil {
		t.Errorf("c still cached (%d records)", len(got))
	}
	for _, s := range []string{"a", "b", "d"} {
		if got, _ := c.get(s); len(got) != third {
			t.Errorf("%s: %d records, want %d", s, len(got), third)
		}
	}
	if c.events > maxCachedEvents || c.events != 3*third {
		t.Errorf("%d events held, want %d", c.events, 3*third)
	}
	// What get returns can be appended to without touching the cache.
	got, _ := c.get("a")
	_ = append(got, eventstore.RecordedEvent{Version: 999})
	if again, _ := c.get("a"); len(again) != third {
		t.Errorf("a: %d records after a caller appended to its copy", len(again))
	}
}

// A stream grows in the room its cached slice keeps: extending all of
// what the cache holds writes no copy, while a holder of an older, shorter
// prefix gets a copy and leaves what others hold as it was.
func TestStreamCacheExtendsInPlace(t *testing.T) {
	t.Parallel()
	rec := func(v uint64) eventstore.RecordedEvent { return eventstore.RecordedEvent{Version: v} }
	var c streamCache
	first, _ := c.extend("s", nil, nil, []eventstore.RecordedEvent{rec(1), rec(2)}, nil)
	cached, _ := c.get("s")
	second, _ := c.extend("s", cached, nil, []eventstore.RecordedEvent{rec(3)}, nil)
	if &second[0] != &first[0] {
		t.Error("extending all of the cached stream copied it")
	}
	if len(first) != 2 || cap(first) != 2 {
		t.Errorf("the first holder's slice changed: len %d cap %d", len(first), cap(first))
	}
	// first is a prefix the cache has moved past: its room is taken.
	other, _ := c.extend("s", first, nil, []eventstore.RecordedEvent{rec(3), rec(4)}, nil)
	if &other[0] == &second[0] {
		t.Error("a stale prefix was extended in the room another holder's records are in")
	}
	if second[2].Version != 3 || len(second) != 3 {
		t.Errorf("the second holder's records changed: %v", second)
	}
	if got, _ := c.get("s"); len(got) != 4 || got[3].Version != 4 {
		t.Errorf("cached: %v, want versions 1-4", got)
	}
	// Decoded events go along only when every record has one.
	d := func(n int) []domain.Event { return make([]domain.Event, n) }
	recs, decoded := c.extend("t", nil, nil, []eventstore.RecordedEvent{rec(1)}, d(1))
	if len(decoded) != 1 {
		t.Fatalf("decoded %d, want 1", len(decoded))
	}
	if _, decoded = c.extend("t", recs, decoded, []eventstore.RecordedEvent{rec(2)}, nil); decoded != nil {
		t.Errorf("decoded %d events when the new one is not", len(decoded))
	}
	if _, decoded := c.extend("u", []eventstore.RecordedEvent{rec(1)}, nil, []eventstore.RecordedEvent{rec(2)}, d(1)); decoded != nil {
		t.Errorf("decoded %d events when the old one is not", len(decoded))
	}
}

// Concurrent loads of one stream, each extending what it holds, never see
// another's records change (run with -race).
func TestStreamCacheConcurrentExtends(t *testing.T) {
	t.Parallel()
	var c streamCache
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 200 {
				held, _ := c.get("s")
				next := uint64(len(held) + 1)
				got, _ := c.extend("s", held, nil, []eventstore.RecordedEvent{{Version: next, Type: fmt.Sprint(g)}}, nil)
				for i, r := range got {
					if r.Version != uint64(i+1) {
						t.Errorf("record %d has version %d", i, r.Version)
						return
					}
				}
				if got[len(got)-1].Type != fmt.Sprint(g) {
					t.Errorf("the record this goroutine added was overwritten")
					return
				}
			}
		})
	}
	wg.Wait()
}

// A stream grown past what the cache keeps is not cached, and so is never
// grown in place: what one load got stays as it was when the next grows it.
func TestStreamCacheTooLongToKeep(t *testing.T) {
	t.Parallel()
	recs := func(from, n int) []eventstore.RecordedEvent {
		out := make([]eventstore.RecordedEvent, n)
		for i := range out {
			out[i].Version = uint64(from + i)
		}
		return out
	}
	var c streamCache
	c.extend("s", nil, nil, recs(1, 2), nil)
	held, _ := c.get("s")
	long, _ := c.extend("s", held, nil, recs(3, maxCachedEvents), nil)
	if got, _ := c.get("s"); got != nil {
		t.Errorf("a stream of %d events is still cached (%d)", len(long), len(got))
	}
	other, _ := c.extend("s", held, nil, []eventstore.RecordedEvent{{Version: 3, Type: "other"}}, nil)
	if long[2].Type == "other" || other[2].Type != "other" {
		t.Error("growing the same prefix again wrote over the long stream another load holds")
	}
}
