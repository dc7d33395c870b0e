package main

import (
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
