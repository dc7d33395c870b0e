package kafka

import (
	"testing"
	"time"
)

// The retry wait doubles up to its bound after failures in a row, and
// starts over after an attempt that had been working a while.
func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	now := time.Now()
	var got []time.Duration
	for range 6 {
		got = append(got, b.after(now))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got[i] != w*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	if d := b.after(now.Add(-5 * time.Second)); d != 100*time.Millisecond {
		t.Errorf("after an attempt that ran 5s: wait %s, want 100ms", d)
	}
	if d := b.after(now); d != 200*time.Millisecond {
		t.Errorf("the next failure waits %s, want 200ms", d)
	}
}
