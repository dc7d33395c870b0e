package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Live applies, with group commit. Kafka hands a projection's events to
// ApplyBatch from one goroutine per partition at once, each call with
// what its partition has waiting. Each projection has a queue: ApplyBatch
// puts its events there, together, and waits; one goroutine per
// projection (started when events come, gone when the queue is empty)
// takes everything queued and applies it in one transaction. An idle
// projection applies each event at once, alone; a busy one applies what
// arrived during its last transaction in its next, so a burst costs a few
// transactions instead of one per event, and the queue never grows behind
// per-transaction overheads. If a group fails, its events are applied
// again one transaction each, so one bad event fails alone.

// maxGroup bounds the events applied in one live transaction.
const maxGroup = 256

// groupTimeout bounds one group's transaction: a hung database must not
// hold a projection's queue forever. Waiting callers give up sooner on
// their own deadlines.
const groupTimeout = time.Minute

// maxDrains is how many transactions of one projection may run at once:
// two, so events that arrive while one commits need not wait for it.
// (Kafka hands over a partition's next batch only once the last one is
// committed, so concurrent groups hold consecutive versions of a stream
// only when a batch is split at maxGroup, or on redeliveries: the later
// group then waits for the earlier one's row lock on the stream, and the
// per-stream versions sort out the rest.)
const maxDrains = 2

// applyQueue is a projection's queue of live events.
type applyQueue struct {
	mu      sync.Mutex
	pending []*applyReq
	drains  int // goroutines applying the queue
}

type applyReq struct {
	ev       eventstore.RecordedEvent
	body     domain.Event // ev decoded, when the caller had it (WithDecoded)
	enqueued time.Time
	done     chan applyResult // buffered: the drainer never blocks on it
}

type applyResult struct {
	outcome string
	err     error
}

// Outcomes of a live apply (metric label values).
const (
	outcomeApplied   = "applied"
	outcomeGapFilled = "gap_filled"
	outcomeDuplicate = "duplicate"
	outcomeError     = "error"
)

// Apply applies one event to the projection called name, in a transaction
// with its bookkeeping: a version already applied is skipped, one beyond
// the next is preceded by the missing versions, read from the store. The live
// consumer calls it for a message whose batch (ApplyBatch) failed, to
// learn which event did; safe for concurrent use, also for events of one
// stream (applied in the order of the calls).
//
// It returns once the event is committed, or with ctx's error if ctx ends
// first; the event may then still be applied (a redelivery is a no-op).
//
// Errors: ErrUnknownProjection and ErrInvalidEvent are permanent; any
// other error is worth retrying (the database or the store failed, or the
// projector did; then retries fail the same and the message ends in the
// dead-letter topic, and the stream waits at that version).
func (r *Registry) Apply(ctx context.Context, name string, ev eventstore.RecordedEvent) error {
	return r.ApplyBatch(ctx, name, []eventstore.RecordedEvent{ev})
}

// ApplyBatch is Apply for several events at once, in their order (a
// Kafka partition's backlog): they are queued together, so they share
// the projection's next transaction (or the next few, past maxGroup
// events) instead of taking one turn each. It returns once all are
// committed, or with the first error; then some may be applied and
// others not, and applying them again (one by one, say, to learn which
// failed) applies each once.
func (r *Registry) ApplyBatch(ctx context.Context, name string, evs []eventstore.RecordedEvent) error {
	e, err := r.entry(name)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.StreamID == "" || ev.Version == 0 {
			return fmt.Errorf("%w: event %s (%s) has no stream or version", ErrInvalidEvent, ev.ID, ev.Type)
		}
	}
	unfollowed := func(ev eventstore.RecordedEvent) bool { return !e.follows(ev.StreamID) }
	if slices.ContainsFunc(evs, unfollowed) {
		// Streams not followed: nothing to apply or record.
		evs = slices.DeleteFunc(slices.Clone(evs), unfollowed)
		if len(evs) == 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	reqs := make([]*applyReq, len(evs))
	for i, ev := range evs {
		reqs[i] = &applyReq{ev: ev, enqueued: now, done: make(chan applyResult, 1)}
		// The drainer applies it under a context of its own.
		if d, ok := decodedIn(ctx, ev); ok {
			reqs[i].body = d.ev
		}
	}
	q := &e.queue
	q.mu.Lock()
	q.pending = append(q.pending, reqs...)
	if q.drains < maxDrains {
		q.drains++
		r.drains.Add(1)
		go r.drain(e)
	}
	q.mu.Unlock()
	for _, req := range reqs {
		select {
		case res := <-req.done:
			if res.err != nil {
				return res.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close waits for the live applies in progress to end. Call it after the
// consumers have stopped calling Apply.
func (r *Registry) Close() { r.drains.Wait() }

// drain applies e's queue, a group at a time, until it is empty.
func (r *Registry) drain(e *entry) {
	defer r.drains.Done()
	q := &e.queue
	for {
		q.mu.Lock()
		n := min(len(q.pending), maxGroup)
		if n == 0 {
			q.drains--
			q.mu.Unlock()
			return
		}
		group := slices.Clone(q.pending[:n])
		q.pending = slices.Delete(q.pending, 0, n)
		q.mu.Unlock()

		r.slots <- struct{}{}
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		results := r.applyGroup(ctx, e, group)
		if len(group) > 1 && results == nil {
			// The group failed: one transaction per event, so each gets
			// its own outcome (in order: a stream's events stay in order).
			results = make([]applyResult, len(group))
			for i := range group {
				results[i] = r.applyGroup(ctx, e, group[i:i+1])[0]
			}
		}
		cancel()
		<-r.slots
		now := time.Now()
		for i, req := range group {
			r.metrics.applied(e.name, results[i].outcome, now.Sub(req.enqueued))
			req.done <- results[i]
		}
	}
}

// applyGroup applies a group of events in one transaction and returns
// their results; for a failed group of more than one event it returns nil
// (nothing was applied).
func (r *Registry) applyGroup(ctx context.Context, e *entry, group []*applyReq) []applyResult {
	results := make([]applyResult, len(group))
	err := r.applyGroupTx(ctx, e, group, results)
	if err == nil {
		return results
	}
	if len(group) > 1 {
		return nil
	}
	results[0] = applyResult{outcome: outcomeError, err: fmt.Errorf("projection %s: %w", e.name, err)}
	return results
}

func (r *Registry) applyGroupTx(ctx context.Context, e *entry, group []*applyReq, results []applyResult) (err error) {
	streams := make([]string, 0, len(group))
	for _, req := range group {
		streams = append(streams, req.ev.StreamID)
	}
	slices.Sort(streams) // rows locked in one order: no deadlock between groups
	streams = slices.Compact(streams)

	// Begin, take the projection's lock (shared: a swap waits for it) and
	// lock the streams' rows, creating missing ones, in one round trip.
	// The insert waits for a concurrent insert of the same row to end;
	// the select then sees and locks whatever is committed. The
	// transaction is begun on a connection taken from the pool, not as a
	// pool transaction: the commit goes with the last statements
	// (pipeTx.commit), and a pool transaction would not know it had ended.
	conn, err := r.cfg.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var b pgx.Batch
	b.BeginTx(pgx.TxOptions{})
	b.Queue(`SELECT set_config('search_path', $1, true), pg_advisory_xact_lock_shared($2, hashtext($3))`,
		searchPath(e.live), lockApply, e.name)
	b.Queue(`INSERT INTO `+ident(e.live)+`.applied (stream_id, version, position, applied_at)
		SELECT s, 0, 0, now() FROM unnest($1::text[]) AS u(s) ORDER BY s
		ON CONFLICT (stream_id) DO NOTHING`, streams)
	b.Queue(`SELECT stream_id, version FROM `+ident(e.live)+`.applied
		WHERE stream_id = ANY($1) ORDER BY stream_id FOR UPDATE`, streams)
	br := conn.SendBatch(ctx, &b)
	tx := br.Tx()
	defer func() {
		if tx != nil {
			if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
			}
		}
	}()
	applied := make(map[string]eventstore.Version, len(streams))
	for range 3 { // begin, lock, insert
		if err == nil {
			_, err = br.Exec()
		}
	}
	if err == nil {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			var s string
			var v int64
			_, err = pgx.ForEachRow(rows, []any{&s, &v}, func() error { applied[s] = eventstore.Version(v); return nil })
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	ptx := newPipeTx(tx)
	ctx = withGroupDecoded(ctx, group)
	positions := map[string]eventstore.Position{}
	for i, req := range group {
		ev := req.ev
		have := applied[ev.StreamID]
		if ev.Version <= have {
			results[i] = applyResult{outcome: outcomeDuplicate}
			continue
		}
		results[i] = applyResult{outcome: outcomeApplied}
		if missing := ev.Version - have - 1; missing > 0 {
			results[i].outcome = outcomeGapFilled
			if err := r.fillGap(ctx, ptx, e, ev, have); err != nil {
				return err
			}
		}
		if err := applyOne(ctx, ptx, e, ev); err != nil {
			return err
		}
		applied[ev.StreamID], positions[ev.StreamID] = ev.Version, ev.Position
	}
	if len(positions) == 0 {
		return nil // all duplicates: the deferred rollback ends the transaction
	}
	ids := make([]string, 0, len(positions))
	versions := make([]int64, 0, len(positions))
	pos := make([]int64, 0, len(positions))
	for s, p := range positions {
		ids, versions, pos = append(ids, s), append(versions, int64(applied[s])), append(pos, int64(p))
	}
	_ = ptx.queue(ctx, `UPDATE `+ident(e.live)+`.applied AS a SET version = u.v, position = u.p, applied_at = now()
		FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(s, v, p) WHERE a.stream_id = u.s`, ids, versions, pos)
	if err := ptx.commit(ctx); err != nil {
		return err
	}
	tx = nil // committed
	return nil
}

// withGroupDecoded hands the projector the events of group that came
// decoded (see WithDecoded).
func withGroupDecoded(ctx context.Context, group []*applyReq) context.Context {
	evs := make([]eventstore.RecordedEvent, len(group))
	bodies := make([]domain.Event, len(group))
	for i, req := range group {
		evs[i], bodies[i] = req.ev, req.body
	}
	return WithDecoded(ctx, evs, bodies)
}

// fillGap applies the versions of ev's stream between have and ev, read
// from the store.
func (r *Registry) fillGap(ctx context.Context, ptx *pipeTx, e *entry, ev eventstore.RecordedEvent, have eventstore.Version) error {
	missing := ev.Version - have - 1
	gap, err := r.cfg.Store.ReadStream(ctx, ev.StreamID, have, int(missing))
	if err != nil {
		return fmt.Errorf("fill the gap before %s: %w", describe(ev), err)
	}
	for i, g := range gap {
		if want := have + 1 + uint64(i); g.Version != want {
			return fmt.Errorf("fill the gap before %s: the store returned version %d where %d was expected", describe(ev), g.Version, want)
		}
		if err := applyOne(ctx, ptx, e, g); err != nil {
			return err
		}
	}
	if uint64(len(gap)) != missing {
		return fmt.Errorf("fill the gap before %s: the store has stream %s only up to version %d",
			describe(ev), ev.StreamID, have+uint64(len(gap)))
	}
	return nil
}
