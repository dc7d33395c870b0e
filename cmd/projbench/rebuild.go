package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/projections"
)

// rebuildResult is one measured rebuild and its baseline.
type rebuildResult struct {
	events      int64
	projections int
	rebuild     projections.RebuildStats
	baseline    baselineStats
}

type baselineStats struct {
	rows int64
	took time.Duration
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// measureRebuild rebuilds every projection from the store and then runs
// the baseline: the same log read with the same batches, and as many rows
// as the projectors wrote (inserted, updated or deleted), inserted one
// INSERT each with plain pgx batches by as many concurrent writers as
// projections, a transaction per writer per batch.
func measureRebuild(ctx context.Context, pool *pgxpool.Pool, reg *projections.Registry, batch int, progress func(string)) (rebuildResult, error) {
	names := reg.Names()
	var res rebuildResult
	res.projections = len(names)
	stats, err := reg.Rebuild(ctx, names, projections.RebuildOptions{
		ProgressEvery: 2 * time.Second,
		Progress: func(p projections.Progress) {
			progress(fmt.Sprintf("rebuild: %d/%d events, %.0f events/s", p.Events, p.Estimate, perSecond(p.Events, p.Elapsed)))
		},
	})
	pprof.StopCPUProfile() // -cpuprofile covers the rebuild, not the baseline
	if err != nil {
		return res, err
	}
	res.rebuild = stats
	res.events = stats.Events
	progress(fmt.Sprintf("rebuild: %d events in %s; baseline next", stats.Events, stats.Took.Round(time.Millisecond)))
	res.baseline, err = runBaseline(ctx, pool, batch, len(names), stats.Rows, stats.Events)
	return res, err
}

const baselineDDL = `
DROP TABLE IF EXISTS bench_baseline;
CREATE UNLOGGED TABLE bench_baseline (
    writer   integer NOT NULL,
    stream   text    NOT NULL,
    version  bigint  NOT NULL,
    type     text    NOT NULL,
    data     jsonb   NOT NULL
);`

// runBaseline: see measureRebuild. The rows are spread evenly over the
// batches (rows per event = rows / events) and the writers.
func runBaseline(ctx context.Context, pool *pgxpool.Pool, batch, writers int, rows, events int64) (baselineStats, error) {
	if _, err := pool.Exec(ctx, baselineDDL); err != nil {
		return baselineStats{}, err
	}
	// Logged like the projections' tables: UNLOGGED would flatter it.
	if _, err := pool.Exec(ctx, `ALTER TABLE bench_baseline SET LOGGED`); err != nil {
		return baselineStats{}, err
	}
	store := postgres.New(pool)
	perEvent := float64(rows) / float64(max(events, 1))
	slots := make(chan struct{}, max(1, (int(pool.Config().MaxConns)-2)/2)) // as the rebuild's
	start := time.Now()
	var (
		written int64
		owed    float64
		mu      sync.Mutex
		failed  error
		wg      sync.WaitGroup
		from    eventstore.Position
	)
	feeds := make([]chan []pendingRow, writers)
	for w := range feeds {
		feeds[w] = make(chan []pendingRow, 4)
		wg.Go(func() {
			for rows := range feeds[w] {
				slots <- struct{}{}
				err := writeRows(ctx, pool, w, rows)
				<-slots
				if err != nil {
					mu.Lock()
					failed = errors.Join(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	for {
		evs, err := store.ReadAll(ctx, from, batch)
		if err != nil {
			failed = errors.Join(failed, err)
			break
		}
		if len(evs) == 0 {
			break
		}
		from = evs[len(evs)-1].Position
		owed += perEvent * float64(len(evs))
		n := int(owed)
		owed -= float64(n)
		for w := range writers {
			share := n / writers
			if w < n%writers {
				share++
			}
			part := make([]pendingRow, share)
			for i := range part {
				e := evs[(i*writers+w)%len(evs)]
				part[i] = pendingRow{stream: e.StreamID, version: int64(e.Version), typ: e.Type, data: e.Data}
			}
			feeds[w] <- part
			written += int64(share)
		}
		if len(evs) < batch {
			break
		}
	}
	for _, f := range feeds {
		close(f)
	}
	wg.Wait()
	return baselineStats{rows: written, took: time.Since(start)}, failed
}

type pendingRow struct {
	stream  string
	version int64
	typ     string
	data    []byte
}

func writeRows(ctx context.Context, pool *pgxpool.Pool, writer int, rows []pendingRow) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, r := range rows {
			b.Queue(`INSERT INTO bench_baseline (writer, stream, version, type, data) VALUES ($1, $2, $3, $4, $5)`,
				writer, r.stream, r.version, r.typ, r.data)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}
