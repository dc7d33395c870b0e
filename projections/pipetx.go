package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipeFlushAt is how many queued statements a pipeTx sends at once at
// most: enough to hide the round trips, few enough to bound the memory
// held by queued arguments.
const pipeFlushAt = 512

// pipeTx is the transaction projectors get. Exec with arguments does not
// run the statement: it queues it, and the queue is sent as one pipelined
// batch before anything that reads (Query, QueryRow, CopyFrom, SendBatch,
// a savepoint, Conn) and at commit. A projector writes a few statements
// per event, and a rebuild applies thousands of events per transaction:
// one round trip per statement would bound a rebuild to a few thousand
// events per second, pipelining lifts that to what PostgreSQL can write.
//
// The price is that Exec cannot report its CommandTag or its own error;
// the Projection contract says so. The first failure is kept (with the
// event whose Apply queued the statement) and returned by every later
// call, and by flush.
type pipeTx struct {
	pgx.Tx
	batch   pgx.Batch
	queued  []queued                      // per queued statement
	owner   string                        // the event being applied
	counts  map[*counterTable]counterSums // additions to counters, written at the next flush
	puts    map[*upsertTable]*pendingRows // rows of upsert tables, written at the next flush
	execs   int64                         // statements projectors wrote (the runner's own not counted)
	rows    int64                         // rows they inserted, updated or deleted
	err     error                         // first failure; the transaction is then aborted
	lastTag pgconn.CommandTag             // of the last statement flushed
}

// queued is what a pipeTx knows of a queued statement.
type queued struct {
	owner     string // the event whose Apply queued it, for errors
	projector bool   // not the runner's own: its rows count
}

var _ pgx.Tx = (*pipeTx)(nil)

func newPipeTx(tx pgx.Tx) *pipeTx { return &pipeTx{Tx: tx} }

// during names the event whose statements are queued next.
func (t *pipeTx) during(owner string) { t.owner = owner }

func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.err != nil {
		return pgconn.CommandTag{}, t.err
	}
	if len(args) == 0 {
		// No arguments: possibly several statements in one string, which
		// only the simple protocol runs and a batch would not. Rare in
		// projectors; run it in order, now.
		if err := t.flush(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
		t.execs++
		tag, err := t.Tx.Exec(ctx, sql)
		if err != nil {
			t.err = t.blame(t.owner, err)
			return tag, t.err
		}
		t.rows += tag.RowsAffected()
		return tag, nil
	}
	t.execs++
	return pgconn.CommandTag{}, t.enqueue(ctx, true, sql, args...)
}

// queue queues one of the runner's own statements: not counted as the
// projector's.
func (t *pipeTx) queue(ctx context.Context, sql string, args ...any) error {
	return t.enqueue(ctx, false, sql, args...)
}

func (t *pipeTx) enqueue(ctx context.Context, projector bool, sql string, args ...any) error {
	if t.err != nil {
		return t.err
	}
	t.batch.Queue(sql, args...)
	t.queued = append(t.queued, queued{owner: t.owner, projector: projector})
	if t.batch.Len() >= pipeFlushAt {
		return t.flush(ctx)
	}
	return nil
}

func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Query(ctx, sql, args...)
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.flush(ctx); err != nil {
		return errRow{err}
	}
	return t.Tx.QueryRow(ctx, sql, args...)
}

func (t *pipeTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.flush(ctx); err != nil {
		return 0, err
	}
	n, err := t.Tx.CopyFrom(ctx, table, columns, src)
	t.rows += n
	return n, err
}

func (t *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.flush(ctx); err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return t.Tx.SendBatch(ctx, b)
}

func (t *pipeTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Prepare(ctx, name, sql)
}

// Begin starts a savepoint. Statements through it run at once: the
// savepoint's outcome decides what comes next.
func (t *pipeTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Begin(ctx)
}

// Conn flushes first, on a background context: the connection may be
// used directly afterwards (which a projector should not do).
func (t *pipeTx) Conn() *pgx.Conn {
	_ = t.flush(context.Background())
	return t.Tx.Conn()
}

// Commit and Rollback are the runner's, never a projector's: a projector
// that ended the transaction would break the apply's atomicity.
func (t *pipeTx) Commit(context.Context) error {
	return fmt.Errorf("projections: a projector must not commit the runner's transaction")
}

func (t *pipeTx) Rollback(context.Context) error {
	return fmt.Errorf("projections: a projector must not roll back the runner's transaction; return an error instead")
}

// addCounter queues an addition to a counter row (see counterTable).
func (t *pipeTx) addCounter(c *counterTable, k rowKey, n int64) error {
	if t.err != nil {
		return t.err
	}
	if t.counts == nil {
		t.counts = map[*counterTable]counterSums{}
	}
	sums := t.counts[c]
	if sums == nil {
		sums = counterSums{}
		t.counts[c] = sums
	}
	sums[k] += n
	return nil
}

// putRow queues a row for an upsert table, replacing one of the same key
// queued since the last flush (see upsertTable).
func (t *pipeTx) putRow(u *upsertTable, k rowKey, values []any) error {
	if t.err != nil {
		return t.err
	}
	if t.puts == nil {
		t.puts = map[*upsertTable]*pendingRows{}
	}
	p := t.puts[u]
	if p == nil {
		p = &pendingRows{at: map[rowKey]int{}}
		t.puts[u] = p
	}
	if i, ok := p.at[k]; ok {
		p.rows[i] = values
		return nil
	}
	p.at[k] = len(p.rows)
	p.rows = append(p.rows, values)
	return nil
}

// queueDeferred queues the statements of the counter and upsert tables,
// one per table, tables in name order: concurrent transactions lock
// their rows in one order.
func (t *pipeTx) queueDeferred() {
	type deferred struct {
		table string
		sql   string
		args  []any
	}
	var ds []deferred
	for c, sums := range t.counts {
		ds = append(ds, deferred{c.table, c.upsert, sums.args(c)})
	}
	for u, p := range t.puts {
		ds = append(ds, deferred{u.table, u.upsert, u.args(p.rows)})
	}
	slices.SortFunc(ds, func(a, b deferred) int { return strings.Compare(a.table, b.table) })
	for _, d := range ds {
		t.batch.Queue(d.sql, d.args...)
		// Its rows come from several events: name the table.
		t.queued = append(t.queued, queued{owner: "the " + d.table + " rows of this transaction's events", projector: true})
		t.execs++
	}
	clear(t.counts)
	clear(t.puts)
}

// commit sends the queued statements and the commit after them, in one
// round trip: the second and last of a live apply. It is the runner's own
// end of the transaction (Commit is refused to projectors). After a
// failure the transaction is aborted, or already ended, and the caller
// rolls it back (a rollback outside a transaction only warns).
func (t *pipeTx) commit(ctx context.Context) error {
	if len(t.counts)+len(t.puts) > 0 {
		t.queueDeferred()
	}
	t.during("")
	_ = t.enqueue(ctx, false, "commit")
	if err := t.flush(ctx); err != nil {
		return err
	}
	// A commit that PostgreSQL turned into a rollback (the transaction
	// had failed unnoticed) must not pass for one that committed.
	if tag := t.lastTag.String(); tag != "COMMIT" {
		return fmt.Errorf("commit: the transaction ended with %q, nothing was applied", tag)
	}
	return nil
}

// flush sends the queued statements and reads their results in order.
func (t *pipeTx) flush(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if len(t.counts)+len(t.puts) > 0 {
		t.queueDeferred()
	}
	n := t.batch.Len()
	if n == 0 {
		return nil
	}
	b := t.batch
	qs := t.queued
	t.batch = pgx.Batch{}
	t.queued = t.queued[:0:0]
	br := t.Tx.SendBatch(ctx, &b)
	for i := 0; i < n; i++ {
		tag, err := br.Exec()
		if err != nil {
			t.err = t.blame(qs[i].owner, fmt.Errorf("statement %q: %w", shorten(b.QueuedQueries[i].SQL), err))
			break
		}
		if qs[i].projector {
			t.rows += tag.RowsAffected()
		}
		t.lastTag = tag
	}
	if err := br.Close(); err != nil && t.err == nil {
		t.err = t.blame("", err)
	}
	return t.err
}

func (t *pipeTx) blame(owner string, err error) error {
	if owner == "" {
		return err
	}
	return fmt.Errorf("%s: %w", owner, err)
}

// shorten keeps error messages readable when a long statement failed.
func shorten(sql string) string {
	const max = 120
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) <= max {
		return sql
	}
	return sql[:max] + "…"
}

// errRow is a pgx.Row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
