package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/internal/storebench"
	"github.com/edusmarthub/edusmarthub/migrations"
)

// BenchmarkAppend compares Store.Append with the baseline of
// internal/storebench (the same rows, one plain INSERT per append) at 1, 8
// and 32 writers, each on its own stream. `make bench` prints the same
// comparison as a table (cmd/storebench).
func BenchmarkAppend(b *testing.B) {
	pool := benchPool(b, 34)
	if err := storebench.PrepareBaseline(context.Background(), pool); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool)
	streams := 0
	for _, writers := range []int{1, 8, 32} {
		for _, side := range []string{"baseline", "store"} {
			b.Run(fmt.Sprintf("%s/writers=%d", side, writers), func(b *testing.B) {
				ws := make([]storebench.Writer, writers)
				for i := range ws {
					streams++
					stream := fmt.Sprintf("bench-%s-%d", side, streams)
					if side == "store" {
						ws[i] = storebench.StoreWriter(store, stream, 1)
					} else {
						ws[i] = storebench.BaselineWriter(pool, storebench.BaselineInsert, stream, 1)
					}
				}
				runWriters(b, ws)
			})
		}
	}
}

// runWriters shares b.N appends among the writers, each in its own
// goroutine, and reports events per second.
func runWriters(b *testing.B, ws []storebench.Writer) {
	ctx := context.Background()
	var next atomic.Int64
	var events atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for _, w := range ws {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				n, err := w(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				events.Add(int64(n))
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(events.Load())/b.Elapsed().Seconds(), "events/s")
}

func benchPool(b *testing.B, maxConns int32) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := migrations.Apply(context.Background(), pool); err != nil {
		b.Fatal(err)
	}
	return pool
}
