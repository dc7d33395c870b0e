package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The generated history is made of valid domain events: every one decodes
// into its registered type, belongs to a school, and the history has the
// size asked for.
func TestGenerate(t *testing.T) {
	t.Parallel()
	events, schools := generate(5000, 1)
	if len(events) != 5000 || schools != 1 {
		t.Fatalf("%d events of %d schools, want 5000 of 1", len(events), schools)
	}
	types := map[string]int{}
	for i, e := range events {
		if _, err := domain.DecodeEvent(e.typ, e.data); err != nil {
			t.Fatalf("event %d (%s): %v", i, e.typ, err)
		}
		if e.meta.SchoolID == "" || e.stream == "" {
			t.Fatalf("event %d has no school or stream", i)
		}
		types[e.typ]++
	}
	for _, want := range []string{domain.SchoolRegisteredType, domain.TeacherCreatedType, domain.StudentEnrolledType,
		domain.AttendanceRecordedType, domain.PerformanceRecordedType} {
		if types[want] == 0 {
			t.Errorf("no %s in %v", want, types)
		}
	}
}

func TestPercentile(t *testing.T) {
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

// The goal is judged on the workflows-off runs' samples together, and
// the verdict says how many runs met it on their own.
func TestPrintLatencyJudgesTheRunsTogether(t *testing.T) {
	t.Parallel()
	run := func(slow int) latencyResult {
		r := latencyResult{rate: 500, duration: 10 * time.Second, sent: 100, actualRate: 500}
		for i := range 100 {
			d := 10 * time.Millisecond
			if i < slow {
				d = 300 * time.Millisecond
			}
			r.visible = append(r.visible, d)
			r.responded = append(r.responded, time.Millisecond)
		}
		return r
	}
	on := run(0)
	on.workflows = true
	for _, c := range []struct {
		slow []int
		want string
	}{
		// 2 slow of 300: p99 of all is fast; the third run alone is not.
		{[]int{0, 0, 2}, "goal: p99 <= 100ms with the workflows off: met (over the 300 samples of all 3 runs; each run on its own: met in 2 of 3)\n"},
		// 5 slow of 300: more than 1% of all.
		{[]int{0, 0, 5}, "goal: p99 <= 100ms with the workflows off: missed (over the 300 samples of all 3 runs; each run on its own: met in 2 of 3)\n"},
		{[]int{0}, "goal: p99 <= 100ms with the workflows off: met\n"},
		{[]int{2}, "goal: p99 <= 100ms with the workflows off: missed\n"},
	} {
		var rs latencyRuns
		for _, s := range c.slow {
			rs.runs = append(rs.runs, run(s))
		}
		rs.runs = append(rs.runs, on)
		var out strings.Builder
		printLatency(&out, rs, options{})
		if !strings.HasSuffix(out.String(), c.want) {
			t.Errorf("runs with %v slow: got\n%s\nwant it to end with\n%s", c.slow, out.String(), c.want)
		}
		if n := len(c.slow); n > 1 && !strings.Contains(out.String(), fmt.Sprintf("workflows off, all %d runs: response to visible", n)) {
			t.Errorf("no row for all the runs:\n%s", out.String())
		}
	}
}
