package httpbench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/internal/httpbench"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRun runs a tiny benchmark end to end: both commands over HTTP and
// directly at two levels, and the table prints with the headline figures.
func TestRun(t *testing.T) {
	pool := pgtest.NewPool(t)
	results, err := httpbench.Run(context.Background(), pool, httpbench.Config{
		Clients: []int{1, 2}, Duration: 50 * time.Millisecond, Rounds: 2, Warmup: -1, StudentsPerLevel: 3,
	}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(results) != 4 {
		t.Fatalf("%d results, want 4: %+v", len(results), results)
	}
	for i, r := range results {
		wantCmd, wantClients := httpbench.CreateTeacher, 1+i%2
		if i >= 2 {
			wantCmd = httpbench.RecordPerformance
		}
		if r.Command != wantCmd || r.Clients != wantClients {
			t.Errorf("result %d is %s at %d clients, want %s at %d", i, r.Command, r.Clients, wantCmd, wantClients)
		}
		for name, s := range map[string]httpbench.Side{"http": r.HTTP, "direct": r.Direct} {
			if s.Requests == 0 || s.Elapsed <= 0 || s.P50 <= 0 || s.P99 < s.P50 {
				t.Errorf("%s at %d clients, %s: %+v", r.Command, r.Clients, name, s)
			}
		}
	}

	// Every request appended: the teachers created and grades recorded
	// are in the store (plus the set-up's own writes).
	var teachers, grades int
	err = pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE type = 'teacher.created.v1'),
		count(*) FILTER (WHERE type = 'performance.recorded.v1') FROM events`).Scan(&teachers, &grades)
	if err != nil {
		t.Fatal(err)
	}
	var sent [2]int
	for _, r := range results {
		i := 0
		if r.Command == httpbench.RecordPerformance {
			i = 1
		}
		sent[i] += r.HTTP.Requests + r.Direct.Requests
	}
	if teachers != sent[0]+1 || grades != sent[1] { // +1: the set-up's teacher
		t.Errorf("store holds %d teachers and %d grades; the run sent %d and %d", teachers, grades, sent[0], sent[1])
	}

	var out bytes.Buffer
	if err := httpbench.Print(&out, "header", results); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.HasPrefix(text, "header\n") || strings.Count(text, "\n") != 8 {
		t.Errorf("table:\n%s", text)
	}
	for _, cmd := range []string{httpbench.CreateTeacher, httpbench.RecordPerformance} {
		if !strings.Contains(text, cmd+": ") {
			t.Errorf("no headline for %s:\n%s", cmd, text)
		}
	}
}

func TestBest(t *testing.T) {
	t.Parallel()
	side := func(reqs int, p99 time.Duration) httpbench.Side {
		return httpbench.Side{Requests: reqs, Elapsed: time.Second, P50: p99 / 2, P99: p99}
	}
	results := []httpbench.Result{
		{Command: "A", Clients: 1, HTTP: side(100, 5*time.Millisecond)},
		{Command: "A", Clients: 4, HTTP: side(300, 20*time.Millisecond)},
		{Command: "A", Clients: 16, HTTP: side(400, 80*time.Millisecond)}, // faster, but p99 over the limit
		{Command: "B", Clients: 1, HTTP: side(50, 60*time.Millisecond)},
	}
	if b, ok := httpbench.Best(results, "A", httpbench.Limit); !ok || b.Clients != 4 {
		t.Errorf("Best(A) = %+v, %v; want the 4-client level", b, ok)
	}
	if b, ok := httpbench.Best(results, "B", httpbench.Limit); ok {
		t.Errorf("Best(B) = %+v; no level is under the limit", b)
	}
	if _, ok := httpbench.Best(results, "C", httpbench.Limit); ok {
		t.Error("Best of a command not measured")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  httpbench.Config
		want string
	}{
		{"unknown command", httpbench.Config{Commands: []string{"DeleteSchool"}}, `unknown command "DeleteSchool"`},
		{"no clients", httpbench.Config{Clients: []int{0}}, "0 clients"},
		{"too few students", httpbench.Config{Clients: []int{8}, StudentsPerLevel: 4}, "4 students per level for up to 8 clients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Refused before the pool is touched.
			_, err := httpbench.Run(context.Background(), nil, tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
