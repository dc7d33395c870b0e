package projections

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Rebuilding: a projection's tables are built afresh from the event store
// (not from Kafka) in a copy of its schema, rm_<name>__rebuild, while the
// live schema keeps serving queries and taking live events. The global log
// is read once, in batches, and every projection being rebuilt applies
// each batch in one transaction of its own, with the same per-stream
// bookkeeping as live applies (kept in memory meanwhile, once for all by
// the reader: nobody else writes the copies; and each batch's events are
// decoded once for all). When the log is read to its end, each projection, in
// one transaction: takes its apply lock exclusively (live applies pause),
// catches the copy up with the log, renames rm_<name> to rm_<name>__old
// and the copy to rm_<name>, and commits; the old schema is then dropped.
// Live applies resume on the new tables: what they deliver that the copy
// has is a duplicate by its stream version, and anything it lacks is a gap
// filled from the store. Nothing is lost, nothing applied twice.
//
// A rebuild writes its copy the way a bulk load does: the copy's
// secondary indexes (all but primary keys and unique ones, which
// projectors' upserts use) are dropped while the log is replayed and built
// afterwards, a sort each instead of an index update per row; and the
// per-stream bookkeeping rows are written once, by COPY, at the end of the
// replay instead of upserted every batch. Both come before the swap, so
// the apply lock is held only for the catch-up.

// Progress is a running rebuild's state.
type Progress struct {
	Phase string // PhaseReplay, PhaseIndex, PhaseSwap or PhaseDone
	// Events is how many events of the log every projection has applied
	// (the slowest's count).
	Events int64
	// Estimate is the log's length estimated at the start (the store's
	// head position: positions are dense but for failed appends), raised
	// to Events when the log grew past it.
	Estimate int64
	Elapsed  time.Duration
}

// Phases of a rebuild.
const (
	PhaseReplay = "replay" // reading the log into the copies
	PhaseIndex  = "index"  // writing the copies' bookkeeping and building their indexes
	PhaseSwap   = "swap"   // catching up and swapping the copies in
	PhaseDone   = "done"
)

// RebuildOptions tune a rebuild.
type RebuildOptions struct {
	// Progress, when set, is called from one goroutine every
	// ProgressEvery while the rebuild runs, and once at the end.
	Progress      func(Progress)
	ProgressEvery time.Duration // default 200ms
}

// RebuildStats describe a finished rebuild.
type RebuildStats struct {
	Projections []string
	// Events is the number of log events read (each applied to every
	// projection rebuilt, if of its channels).
	Events int64
	// Applied counts the events handed to projectors, over all
	// projections; Statements the statements they wrote, Rows the rows
	// those inserted, updated or deleted.
	Applied    int64
	Statements int64
	Rows       int64
	Took       time.Duration
}

// EventsPerSecond is the rebuild's throughput in log events.
func (s RebuildStats) EventsPerSecond() float64 {
	if s.Took <= 0 {
		return 0
	}
	return float64(s.Events) / s.Took.Seconds()
}

// Rebuild rebuilds the named projections from the event store and swaps
// the new tables in, while live applies go on (see the top of this file).
// The log is read once for all of them. A projection that fails keeps its
// old tables and does not stop the others; the error names each failure.
// A rebuild of a projection that is being rebuilt elsewhere fails at once
// with ErrRebuildRunning.
func (r *Registry) Rebuild(ctx context.Context, names []string, opts RebuildOptions) (stats RebuildStats, err error) {
	entries, err := r.entries(names)
	if err != nil {
		return stats, err
	}
	locks, err := r.lockBuilds(ctx, entries, false)
	if err != nil {
		return stats, err
	}
	defer func() { err = errors.Join(err, locks.release(ctx)) }()
	return r.rebuildLocked(ctx, entries, opts)
}

// builder rebuilds one projection.
type builder struct {
	r           *Registry
	e           *entry
	log         *logStreams         // the reader's, read once the replay is over; the swap's own copy then
	consumed    []bool              // by log stream index: the projection consumed one of its events
	indexes     []string            // the copy's secondary indexes, built after the replay
	streamCount int                 // streams it consumed events of, at the end of the replay
	from        eventstore.Position // the last log event applied
	events      atomic.Int64        // log events applied
	applied     int64               // events handed to the projector
	stmts       int64               // statements it wrote
	rows        int64               // rows those changed
	err         error               // written by its worker only
	failed      atomic.Bool         // err != nil, for the progress reporter
}

func (r *Registry) rebuildLocked(ctx context.Context, entries []*entry, opts RebuildOptions) (RebuildStats, error) {
	start := time.Now()
	stats := RebuildStats{}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return stats, fmt.Errorf("projections: rebuild: %w", err)
	}
	log := &logStreams{index: map[string]int32{}}
	builders := make([]*builder, 0, len(entries))
	for _, e := range entries {
		stats.Projections = append(stats.Projections, e.name)
		indexes, err := r.prepareCopy(ctx, e)
		if err != nil {
			return stats, err
		}
		builders = append(builders, &builder{r: r, e: e, log: log, indexes: indexes})
	}

	var (
		read    atomic.Int64
		phase   atomic.Value
		wg      sync.WaitGroup
		slots   = make(chan struct{}, buildSlots(r))
		feeds   = make([]chan logBatch, len(builders))
		readErr error
	)
	phase.Store(PhaseReplay)
	report := func(final bool) {
		if opts.Progress == nil {
			return
		}
		p := Progress{Phase: phase.Load().(string), Estimate: int64(head), Elapsed: time.Since(start)}
		p.Events = read.Load()
		for _, b := range builders {
			if !b.failed.Load() {
				p.Events = min(p.Events, b.events.Load())
			}
		}
		p.Estimate = max(p.Estimate, p.Events)
		if final {
			p.Phase = PhaseDone
		}
		opts.Progress(p)
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		every := opts.ProgressEvery
		if every <= 0 {
			every = 200 * time.Millisecond
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				report(false)
			}
		}
	}()

	for i, b := range builders {
		feeds[i] = make(chan logBatch, 4)
		wg.Go(func() {
			for batch := range feeds[i] {
				if b.err != nil {
					continue // failed: drain, so the reader never waits for it
				}
				slots <- struct{}{}
				b.err = b.applyLogBatch(withDecoded(ctx, batch.decoded), batch)
				<-slots
				b.failed.Store(b.err != nil)
			}
			if b.err != nil || readErr != nil {
				return
			}
			phase.Store(PhaseIndex)
			slots <- struct{}{}
			b.err = b.finishReplay(ctx)
			<-slots
			if b.err != nil {
				b.failed.Store(true)
				return
			}
			phase.Store(PhaseSwap)
			slots <- struct{}{}
			b.err = b.swap(ctx)
			<-slots
			b.failed.Store(b.err != nil)
		})
	}

	// Batches are decoded by a stage of their own, between the reader and
	// the projections: off the projections' way, and beside the next read.
	decode := make(chan logBatch, 2)
	decodeDone := make(chan struct{})
	wanted := func(ev eventstore.RecordedEvent) bool {
		return slices.ContainsFunc(builders, func(b *builder) bool { return b.e.wants(ev) })
	}
	go func() {
		defer close(decodeDone)
		for lb := range decode {
			lb.decoded = decodeBatch(lb.events, wanted)
			for _, f := range feeds {
				f <- lb
			}
		}
		for _, f := range feeds {
			close(f)
		}
	}()

	// Read the log to its end: until a batch comes back short. Appends go
	// on meanwhile; each swap catches up with what came after.
	var from eventstore.Position
	for {
		batch, err := r.cfg.Store.ReadAll(ctx, from, r.cfg.RebuildBatch)
		if err != nil {
			readErr = fmt.Errorf("projections: rebuild: read the log after position %d: %w", from, err)
			break
		}
		if len(batch) == 0 {
			break
		}
		lb, err := r.sequence(ctx, log, batch)
		if err != nil {
			readErr = fmt.Errorf("projections: rebuild: %w", err)
			break
		}
		decode <- lb
		read.Add(int64(len(batch)))
		from = batch[len(batch)-1].Position
		if len(batch) < r.cfg.RebuildBatch {
			break
		}
	}
	close(decode)
	<-decodeDone
	wg.Wait()
	close(stopProgress)
	<-progressDone
	report(true)

	errs := []error{readErr}
	for _, b := range builders {
		stats.Applied += b.applied
		stats.Statements += b.stmts
		stats.Rows += b.rows
		if b.err == nil && readErr != nil {
			b.err = errors.New("not swapped in: the log could not be read")
		}
		if b.err != nil {
			errs = append(errs, fmt.Errorf("projection %s: rebuild failed, the old tables stay: %w", b.e.name, b.err))
			r.dropCopy(ctx, b.e)
			continue
		}
		r.cfg.Logger.Info("projection rebuilt", "projection", b.e.name, "events", b.events.Load(),
			"streams", b.streamCount, "took", time.Since(start).Round(time.Millisecond).String())
	}
	stats.Events = read.Load()
	for _, b := range builders {
		stats.Events = max(stats.Events, b.events.Load()) // the swaps' catch-ups
	}
	stats.Took = time.Since(start)
	return stats, errors.Join(errs...)
}

// logBatch is a batch of the log as the rebuild's reader hands it to
// every projection: each stream's next versions, in order.
type logBatch struct {
	events  []eventstore.RecordedEvent
	streams []int32 // each event's stream, as an index in logStreams
	read    int     // events read from the log for it
	last    eventstore.Position
	decoded *decodedBatch
}

// logStreams is what the rebuild's reader knows of each stream of the log
// read so far: every projection rebuilt replays the same log, so the
// per-stream versions are kept once, by the reader, and the projections
// only note which streams they consumed. Written by the reader alone
// until the replay ends.
type logStreams struct {
	index map[string]int32
	ids   []string
	marks []logMark
}

// clone is a copy of l that can be written apart from it.
func (l *logStreams) clone() *logStreams {
	return &logStreams{index: maps.Clone(l.index), ids: slices.Clone(l.ids), marks: slices.Clone(l.marks)}
}

type logMark struct {
	version  eventstore.Version
	position eventstore.Position
}

// sequence turns a batch of the log into the logBatch every projection
// applies: a version the log repeats is left out, and a version missing
// before an event is filled from the stream (the log holds every version
// in order, so only a store that broke that promise has gaps; live
// applies fill them the same way).
func (r *Registry) sequence(ctx context.Context, log *logStreams, batch []eventstore.RecordedEvent) (logBatch, error) {
	lb := logBatch{events: make([]eventstore.RecordedEvent, 0, len(batch)), streams: make([]int32, 0, len(batch)),
		read: len(batch), last: batch[len(batch)-1].Position}
	add := func(i int32, ev eventstore.RecordedEvent) {
		lb.events = append(lb.events, ev)
		lb.streams = append(lb.streams, i)
		log.marks[i] = logMark{ev.Version, ev.Position}
	}
	for _, ev := range batch {
		i, ok := log.index[ev.StreamID]
		if !ok {
			i = int32(len(log.ids))
			log.index[ev.StreamID] = i
			log.ids = append(log.ids, ev.StreamID)
			log.marks = append(log.marks, logMark{})
		}
		have := log.marks[i].version
		if ev.Version <= have {
			continue
		}
		if missing := ev.Version - have - 1; missing > 0 {
			gap, err := r.cfg.Store.ReadStream(ctx, ev.StreamID, have, int(missing))
			if err != nil {
				return lb, fmt.Errorf("fill the gap before %s: %w", describe(ev), err)
			}
			if uint64(len(gap)) != missing {
				return lb, fmt.Errorf("fill the gap before %s: the store has %d of the %d versions missing", describe(ev), len(gap), missing)
			}
			for _, g := range gap {
				add(i, g)
			}
		}
		add(i, ev)
	}
	return lb, nil
}

// buildSlots bounds the projections applying at once. Each holds a
// connection for its transaction, and a swap reads the store meanwhile:
// half the pool, less the build-lock connection and the reader's.
func buildSlots(r *Registry) int {
	return max(1, (int(r.cfg.DB.Config().MaxConns)-2)/2)
}

// prepareCopy drops what a failed or interrupted rebuild left behind,
// creates an empty copy of the projection's schema and drops the copy's
// secondary indexes, returning their definitions for finishReplay.
func (r *Registry) prepareCopy(ctx context.Context, e *entry) ([]string, error) {
	err := pgx.BeginFunc(ctx, r.cfg.DB, func(tx pgx.Tx) error {
		for _, s := range []string{e.rebuild, e.old} {
			if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(s)+" CASCADE"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projection %s: drop leftovers of an earlier rebuild: %w", e.name, err)
	}
	if err := r.createSchema(ctx, e, e.rebuild, false); err != nil {
		return nil, err
	}
	var indexes []string
	err = pgx.BeginFunc(ctx, r.cfg.DB, func(tx pgx.Tx) error {
		// pg_get_indexdef qualifies the table with the copy's schema, which
		// is still its name when finishReplay runs the definitions.
		rows, err := tx.Query(ctx, `
SELECT c.relname, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND NOT i.indisunique AND NOT i.indisprimary
 ORDER BY c.relname`, e.rebuild)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				return err
			}
			names, indexes = append(names, name), append(indexes, def)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, name := range names {
			if _, err := tx.Exec(ctx, "DROP INDEX "+ident(e.rebuild)+"."+ident(name)); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE `+ident(e.rebuild)+`.projection_info
			SET rebuild_started_at = now(), rebuild_events = 0, rebuild_position = 0`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("projection %s: prepare the rebuild copy: %w", e.name, err)
	}
	return indexes, nil
}

// dropCopy removes a failed rebuild's copy; failing that, the next
// rebuild does.
func (r *Registry) dropCopy(ctx context.Context, e *entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := r.cfg.DB.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(e.rebuild)+" CASCADE"); err != nil {
		r.cfg.Logger.Warn("could not drop a failed rebuild's schema; the next rebuild will", "schema", e.rebuild, "err", err)
	}
}

// applyLogBatch applies a batch of the log to the copy in one transaction.
func (b *builder) applyLogBatch(ctx context.Context, lb logBatch) (err error) {
	tx, err := b.r.cfg.DB.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
	}()
	// Not pipelined: pgx prepares a batch's statements before running
	// any, and unqualified names resolve with the search path of then.
	// Commits of the copy need not wait for the disk: a crash loses the
	// copy anyway (the next rebuild starts afresh); the swap is durable.
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true), set_config('synchronous_commit', 'off', true)`,
		searchPath(b.e.rebuild)); err != nil {
		return err
	}
	ptx := newPipeTx(tx)
	if err := b.applyEvents(ctx, ptx, lb); err != nil {
		return err
	}
	_ = ptx.queue(ctx, `UPDATE `+ident(b.e.rebuild)+`.projection_info SET rebuild_events = $1, rebuild_position = $2`,
		b.events.Load()+int64(lb.read), int64(lb.last))
	if err := ptx.flush(ctx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	b.events.Add(int64(lb.read))
	b.stmts += ptx.execs
	b.rows += ptx.rows
	return nil
}

// applyEvents hands the projector the events of lb it consumes and notes
// their streams.
func (b *builder) applyEvents(ctx context.Context, ptx *pipeTx, lb logBatch) error {
	for j, ev := range lb.events {
		if !b.e.wants(ev) {
			continue
		}
		if err := applyOne(ctx, ptx, b.e, ev); err != nil {
			return err
		}
		b.applied++
		i := int(lb.streams[j])
		if i >= len(b.consumed) {
			b.consumed = append(b.consumed, make([]bool, i+1-len(b.consumed))...)
		}
		b.consumed[i] = true
	}
	b.from = lb.last
	return nil
}

// queueApplied queues the bookkeeping of the streams of lb the projection
// has consumed events of, at their versions after lb.
func (b *builder) queueApplied(ctx context.Context, ptx *pipeTx, lb logBatch) {
	var ids []string
	var versions, positions []int64
	seen := map[int32]bool{}
	for _, i := range lb.streams {
		if seen[i] || int(i) >= len(b.consumed) || !b.consumed[i] {
			continue
		}
		seen[i] = true
		m := b.log.marks[i]
		ids, versions, positions = append(ids, b.log.ids[i]), append(versions, int64(m.version)), append(positions, int64(m.position))
	}
	if len(ids) == 0 {
		return
	}
	_ = ptx.queue(ctx, `INSERT INTO `+ident(b.e.rebuild)+`.applied (stream_id, version, position, applied_at)
		SELECT s, v, p, now() FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(s, v, p)
		ON CONFLICT (stream_id) DO UPDATE
		SET version = excluded.version, position = excluded.position, applied_at = excluded.applied_at`,
		ids, versions, positions)
}

// finishReplay writes the bookkeeping of every stream the replay applied
// and builds the copy's secondary indexes, each in a transaction of its own
// (the copy is nobody else's until the swap).
func (b *builder) finishReplay(ctx context.Context) error {
	e := b.e
	now := time.Now()
	var rows [][]any
	for i, ok := range b.consumed {
		if ok {
			m := b.log.marks[i]
			rows = append(rows, []any{b.log.ids[i], int64(m.version), int64(m.position), now})
		}
	}
	b.streamCount = len(rows)
	err := pgx.BeginFunc(ctx, b.r.cfg.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true)`); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{e.rebuild, "applied"}, []string{"stream_id", "version", "position", "applied_at"},
			pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("write the bookkeeping of %d streams: %w", len(rows), err)
	}
	for _, def := range b.indexes {
		if _, err := b.r.cfg.DB.Exec(ctx, def); err != nil {
			return fmt.Errorf("build index (%s): %w", def, err)
		}
	}
	return nil
}

// swap catches the copy up with the log and renames it into place, in one
// transaction holding the projection's apply lock exclusively.
func (b *builder) swap(ctx context.Context) (err error) {
	e := b.e
	// The catch-up sequences the log as the replay's reader did, on a copy
	// of its stream versions: other projections catch up at the same time.
	// Copied before the lock, which pauses this projection's live applies.
	b.log = b.log.clone()
	tx, err := b.r.cfg.DB.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true), pg_advisory_xact_lock($2, hashtext($3))`,
		searchPath(e.rebuild), lockApply, e.name); err != nil {
		return err
	}
	ptx := newPipeTx(tx)
	for {
		batch, err := b.r.cfg.Store.ReadAll(ctx, b.from, b.r.cfg.RebuildBatch)
		if err != nil {
			return fmt.Errorf("catch up after position %d: %w", b.from, err)
		}
		if len(batch) == 0 {
			break
		}
		lb, err := b.r.sequence(ctx, b.log, batch)
		if err != nil {
			return fmt.Errorf("catch up: %w", err)
		}
		if err := b.applyEvents(ctx, ptx, lb); err != nil {
			return err
		}
		b.queueApplied(ctx, ptx, lb)
		b.events.Add(int64(len(batch)))
		if len(batch) < b.r.cfg.RebuildBatch {
			break
		}
	}
	_ = ptx.queue(ctx, `UPDATE `+ident(e.rebuild)+`.projection_info SET complete = true, built_at = now(),
		schema_version = $1, rebuild_started_at = NULL, rebuild_events = NULL, rebuild_position = NULL`, e.version)
	if err := ptx.flush(ctx); err != nil {
		return err
	}
	b.stmts += ptx.execs
	b.rows += ptx.rows
	var liveExists bool
	if err := tx.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, ident(e.live)).Scan(&liveExists); err != nil {
		return err
	}
	if liveExists {
		if _, err := tx.Exec(ctx, "ALTER SCHEMA "+ident(e.live)+" RENAME TO "+ident(e.old)); err != nil {
			return fmt.Errorf("swap: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, "ALTER SCHEMA "+ident(e.rebuild)+" RENAME TO "+ident(e.live)); err != nil {
		return fmt.Errorf("swap: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit the swap: %w", err)
	}
	// Outside the swap: dropping waits for queries still reading the old
	// tables, and live applies need not wait for them too.
	if liveExists {
		if _, err := b.r.cfg.DB.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident(e.old)+" CASCADE"); err != nil {
			b.r.cfg.Logger.Warn("could not drop the replaced schema; the next rebuild will", "schema", e.old, "err", err)
		}
	}
	return nil
}
