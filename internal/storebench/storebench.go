// Package storebench measures the PostgreSQL event store's append against
// a baseline on the same server in the same run: the same rows inserted
// with plain pgx, one transaction per append. cmd/storebench prints the
// table; eventstore/postgres's Go benchmarks use the same writers.
package storebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
)

// BaselineTable has the events table's columns, defaults, constraints and
// indexes, so the baseline writes what the store writes.
const BaselineTable = "storebench_baseline_events"

// Writer performs one append and returns the number of events written.
type Writer func(ctx context.Context) (int, error)

// Events returns n events of a typical size (a small JSON body and full
// metadata).
func Events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{
			ID:   uuid.New(),
			Type: "performance.recorded.v1",
			Data: fmt.Appendf(nil, `{"studentId":"%s","subject":"mathematics","grade":%d,"assessmentType":"quiz","assessedAt":"2025-03-14T09:00:00Z"}`, uuid.NewString(), 50+i%50),
			Metadata: eventstore.Metadata{
				SchoolID:      "11111111-2222-3333-4444-555555555555",
				ActorID:       "teacher-42",
				ActorRole:     "teacher",
				CorrelationID: uuid.NewString(),
				CausationID:   uuid.NewString(),
				RequestID:     uuid.NewString(),
			},
		}
	}
	return out
}

// StoreWriter appends eventsPerAppend events to stream with the exact
// expected version, as a command handler does.
func StoreWriter(s *postgres.Store, stream string, eventsPerAppend int) Writer {
	var version uint64
	return func(ctx context.Context) (int, error) {
		res, err := s.Append(ctx, stream, eventstore.Exact(version), Events(eventsPerAppend))
		if err != nil {
			return 0, err
		}
		version = res.Version
		return eventsPerAppend, nil
	}
}

// PrepareBaseline (re)creates the baseline table, shaped like events.
func PrepareBaseline(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+BaselineTable+`;
		CREATE TABLE `+BaselineTable+` (LIKE events INCLUDING ALL)`)
	if err != nil {
		return fmt.Errorf("storebench: create baseline table: %w", err)
	}
	return nil
}

// BaselineKind is how the baseline writes an append's rows.
type BaselineKind string

const (
	// BaselineInsert is one INSERT statement in its own (implicit)
	// transaction: one round trip, the cheapest way to write the rows.
	BaselineInsert BaselineKind = "insert"
	// BaselineTx is BEGIN, the INSERT, COMMIT: an explicit transaction as
	// application code usually writes it (pool.Begin, tx.Exec,
	// tx.Commit), three round trips.
	BaselineTx BaselineKind = "tx"
)

// BaselineWriter inserts the rows an append of eventsPerAppend events
// stores, with plain pgx, one transaction per append (the version is known
// to the writer, which owns its stream).
func BaselineWriter(pool *pgxpool.Pool, kind BaselineKind, stream string, eventsPerAppend int) Writer {
	var version int64
	const insert = `INSERT INTO ` + BaselineTable + ` (stream_id, version, event_id, type, data, metadata, school_id)
		SELECT $1, $2 + u.ord, u.id, u.type, u.data, u.metadata, u.metadata->>'schoolId'
		  FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY AS u(id, type, data, metadata, ord)`
	exec := func(ctx context.Context, args ...any) error {
		_, err := pool.Exec(ctx, insert, args...)
		return err
	}
	if kind == BaselineTx {
		exec = func(ctx context.Context, args ...any) (err error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insert, args...); err != nil {
				return errors.Join(err, tx.Rollback(ctx))
			}
			return tx.Commit(ctx)
		}
	}
	return func(ctx context.Context) (int, error) {
		evs := Events(eventsPerAppend)
		ids := make([][16]byte, len(evs)) // as the store sends them: binary, not through uuid.UUID's text form
		types := make([]string, len(evs))
		data := make([][]byte, len(evs))
		metas := make([][]byte, len(evs))
		for i, e := range evs {
			m, err := json.Marshal(e.Metadata)
			if err != nil {
				return 0, err
			}
			ids[i], types[i], data[i], metas[i] = e.ID, e.Type, e.Data, m
		}
		if err := exec(ctx, stream, version, ids, types, data, metas); err != nil {
			return 0, err
		}
		version += int64(eventsPerAppend)
		return eventsPerAppend, nil
	}
}

// Config is a benchmark run.
type Config struct {
	Writers         []int         // concurrency levels; default 1, 8, 32
	Duration        time.Duration // measured time per side per round; default 500ms
	Rounds          int           // rounds per level, alternating which side goes first; default 8
	Warmup          time.Duration // unmeasured time per side before the first round; default 500ms
	EventsPerAppend int           // default 1
	Baseline        BaselineKind  // default BaselineInsert
}

func (c *Config) setDefaults() {
	if len(c.Writers) == 0 {
		c.Writers = []int{1, 8, 32}
	}
	if c.Duration <= 0 {
		c.Duration = 500 * time.Millisecond
	}
	if c.Rounds <= 0 {
		c.Rounds = 8
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 500 * time.Millisecond
	}
	if c.EventsPerAppend <= 0 {
		c.EventsPerAppend = 1
	}
	if c.Baseline == "" {
		c.Baseline = BaselineInsert
	}
}

// Side is what one side measured at one concurrency level.
type Side struct {
	Appends  int
	Events   int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// EventsPerSecond is the side's throughput.
func (s Side) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// Result compares both sides at one concurrency level.
type Result struct {
	Writers  int
	Baseline Side
	Store    Side
}

// Ratio is the store's throughput over the baseline's.
func (r Result) Ratio() float64 {
	if b := r.Baseline.EventsPerSecond(); b > 0 {
		return r.Store.EventsPerSecond() / b
	}
	return 0
}

// Run measures both sides at each concurrency level, in short slices that
// alternate between the sides, so that load from elsewhere on the machine
// falls on both alike. The pool must allow
// as many connections as the largest level has writers. progress, if not
// nil, gets a line per measurement.
func Run(ctx context.Context, pool *pgxpool.Pool, cfg Config, progress io.Writer) ([]Result, error) {
	cfg.setDefaults()
	if cfg.Baseline != BaselineInsert && cfg.Baseline != BaselineTx {
		return nil, fmt.Errorf("storebench: baseline %q is neither %q nor %q", cfg.Baseline, BaselineInsert, BaselineTx)
	}
	if max := slices.Max(cfg.Writers); int(pool.Config().MaxConns) < max {
		return nil, fmt.Errorf("storebench: the pool allows %d connections, the run needs %d", pool.Config().MaxConns, max)
	}
	if err := PrepareBaseline(ctx, pool); err != nil {
		return nil, err
	}
	store := postgres.New(pool)
	run := uuid.NewString()[:8]
	streamN := 0
	newWriters := func(side string, n int) []Writer {
		ws := make([]Writer, n)
		for i := range ws {
			streamN++
			stream := fmt.Sprintf("bench-%s-%s-%d", side, run, streamN)
			if side == "store" {
				ws[i] = StoreWriter(store, stream, cfg.EventsPerAppend)
			} else {
				ws[i] = BaselineWriter(pool, cfg.Baseline, stream, cfg.EventsPerAppend)
			}
		}
		return ws
	}

	var results []Result
	for _, n := range cfg.Writers {
		if n <= 0 {
			return nil, fmt.Errorf("storebench: %d writers", n)
		}
		sides := map[string][]Writer{"baseline": newWriters("baseline", n), "store": newWriters("store", n)}
		lat := map[string][]time.Duration{}
		acc := map[string]*Side{"baseline": {}, "store": {}}
		if cfg.Warmup > 0 {
			for _, side := range []string{"baseline", "store"} {
				if _, _, _, _, err := measureLat(ctx, sides[side], cfg.Warmup); err != nil {
					return nil, fmt.Errorf("storebench: warm-up %s, %d writers: %w", side, n, err)
				}
			}
		}
		for round := range cfg.Rounds {
			order := []string{"baseline", "store"}
			if round%2 == 1 {
				order = []string{"store", "baseline"}
			}
			for _, side := range order {
				appends, events, elapsed, l, err := measureLat(ctx, sides[side], cfg.Duration)
				if err != nil {
					return nil, fmt.Errorf("storebench: %s, %d writers: %w", side, n, err)
				}
				a := acc[side]
				a.Appends += appends
				a.Events += events
				a.Elapsed += elapsed
				lat[side] = append(lat[side], l...)
				if progress != nil {
					fmt.Fprintf(progress, "  %2d writers  %-8s  round %d  %8.0f events/s\n", n, side, round+1, float64(events)/elapsed.Seconds())
				}
			}
		}
		for side, a := range acc {
			a.P50, a.P99 = percentile(lat[side], 0.50), percentile(lat[side], 0.99)
		}
		results = append(results, Result{Writers: n, Baseline: *acc["baseline"], Store: *acc["store"]})
	}
	return results, nil
}

// measureLat runs every writer in its own goroutine, back to back, for d,
// and returns the appends, events, the elapsed time and every append's
// latency.
func measureLat(ctx context.Context, writers []Writer, d time.Duration) (int, int, time.Duration, []time.Duration, error) {
	var (
		mu      sync.Mutex
		lat     []time.Duration
		appends int
		events  int
		errs    []error
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, w := range writers {
		wg.Go(func() {
			var mine []time.Duration
			n := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				k, err := w(ctx)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				n += k
			}
			mu.Lock()
			lat = append(lat, mine...)
			appends += len(mine)
			events += n
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, 0, nil, err
	}
	if ctx.Err() != nil {
		return 0, 0, 0, nil, ctx.Err()
	}
	return appends, events, elapsed, lat, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// Print writes the results as a table under header.
func Print(w io.Writer, header string, results []Result) error {
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "writers\tbaseline ev/s\tp50\tp99\tstore ev/s\tp50\tp99\tstore/baseline\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%.0f\t%s\t%s\t%.0f\t%s\t%s\t%.2f\t\n", r.Writers,
			r.Baseline.EventsPerSecond(), ms(r.Baseline.P50), ms(r.Baseline.P99),
			r.Store.EventsPerSecond(), ms(r.Store.P50), ms(r.Store.P99), r.Ratio())
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// ServerSettings describes the durability settings in force, for the
// table's header.
func ServerSettings(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var version, fsync, syncCommit, fpw string
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('full_page_writes')`).Scan(&version, &fsync, &syncCommit, &fpw)
	if err != nil {
		return "", fmt.Errorf("storebench: read server settings: %w", err)
	}
	return fmt.Sprintf("PostgreSQL %s, fsync=%s, synchronous_commit=%s, full_page_writes=%s", version, fsync, syncCommit, fpw), nil
}
