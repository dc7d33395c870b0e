package main

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/sagas"
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

func TestTableComparesWithTheBaseline(t *testing.T) {
	t.Parallel()
	ms := func(n int) []time.Duration { return []time.Duration{time.Duration(n) * time.Millisecond} }
	base := &result{workflow: baselineKey, instances: 10, perSecond: 200, latencies: ms(5), cpu: 20 * time.Millisecond}
	res := []result{
		{workflow: sagas.StudentPerformanceSaga, instances: 10, perSecond: 100, latencies: ms(12), cpu: 50 * time.Millisecond},
		{workflow: sagas.InterventionWorkflowSaga, instances: 2, perSecond: 4, latencies: ms(30)},
	}
	var b strings.Builder
	printTable(&b, "header", base, res, "checks: ok")
	out := b.String()
	for _, want := range []string{
		"baseline, sagas off: record -> performance read model", "1.00x", "2.0ms",
		"student_performance: record -> completed", "0.50x", "12.0ms", "5.0ms",
		"ai_intervention_workflow: record -> waiting for follow-up",
		"checks: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	var nb strings.Builder
	printTable(&nb, "header", nil, res, "checks: ok")
	if strings.Contains(nb.String(), "baseline, sagas off") || strings.Contains(nb.String(), "0.50x") {
		t.Errorf("a table without a baseline shows one:\n%s", nb.String())
	}
}
