package main

import (
	"testing"
	"time"
)

func TestStrugglers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n     int
		share float64
		want  int
	}{{2000, 0.2, 400}, {100, 0.2, 20}, {7, 0.5, 4}, {10, 0, 0}, {10, 1, 10}} {
		got := strugglers(tc.n, tc.share)
		k, run := 0, 0
		for _, high := range got {
			if high {
				k++
				run++
			} else {
				run = 0
			}
			if tc.share < 0.5 && run > 1 {
				t.Fatalf("n=%d share=%v: two strugglers in a row, not spread", tc.n, tc.share)
			}
		}
		if k != tc.want {
			t.Errorf("n=%d share=%v: %d strugglers, want %d", tc.n, tc.share, k, tc.want)
		}
	}
}

func TestPct(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := pct(d, p); got != want {
			t.Errorf("pct(%v) = %s, want %s", p, got, want)
		}
	}
	if pct(nil, 0.5) != 0 {
		t.Error("pct of nothing")
	}
}
