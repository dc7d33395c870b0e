package commands

import (
	"reflect"
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
