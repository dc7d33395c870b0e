package storebench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRun runs a tiny benchmark end to end: both baselines and the store
// write, and the table prints.
func TestRun(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}

	for _, kind := range []storebench.BaselineKind{storebench.BaselineInsert, storebench.BaselineTx} {
		results, err := storebench.Run(ctx, pool, storebench.Config{
			Writers: []int{1, 3}, Duration: 50 * time.Millisecond, Rounds: 2, Warmup: -1, EventsPerAppend: 2, Baseline: kind,
		}, nil)
		if err != nil {
			t.Fatalf("%s: Run: %v", kind, err)
		}
		if len(results) != 2 || results[1].Writers != 3 {
			t.Fatalf("%s: results %+v", kind, results)
		}
		for _, r := range results {
			for _, side := range []storebench.Side{r.Baseline, r.Store} {
				if side.Appends == 0 || side.Events != 2*side.Appends || side.P50 <= 0 || side.P99 < side.P50 {
					t.Errorf("%s: %d writers: side %+v", kind, r.Writers, side)
				}
			}
			if r.Ratio() <= 0 {
				t.Errorf("%s: ratio %f", kind, r.Ratio())
			}
		}
		var out bytes.Buffer
		if err := storebench.Print(&out, "header", results); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "header\n") || strings.Count(out.String(), "\n") != 4 {
			t.Errorf("table:\n%s", out.String())
		}
	}

	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+storebench.BaselineTable).Scan(&rows); err != nil || rows == 0 {
		t.Fatalf("baseline rows %d, %v", rows, err)
	}
}

func TestRunRejectsSmallPool(t *testing.T) {
	pool := pgtest.NewPool(t) // 4 connections at most on this machine's defaults
	_, err := storebench.Run(context.Background(), pool, storebench.Config{Writers: []int{1000}}, nil)
	if err == nil || !strings.Contains(err.Error(), "connections") {
		t.Fatalf("err = %v", err)
	}
}
