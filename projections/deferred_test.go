package projections

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
)

var testCounts = newCounterTable("counts", "n", column{"school_id", "text"}, column{"minute", "timestamptz"})

func countsTable(t *testing.T) (context.Context, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	if _, err := conn.Exec(ctx, `CREATE TABLE counts (school_id text, minute timestamptz, n bigint NOT NULL,
		PRIMARY KEY (school_id, minute))`); err != nil {
		t.Fatal(err)
	}
	return ctx, conn.Conn()
}

func readCounts(t *testing.T, ctx context.Context, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT school_id || '@' || to_char(minute AT TIME ZONE 'UTC', 'HH24:MI'), n FROM counts`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kv struct {
		k string
		n int64
	}, err error) {
		err = r.Scan(&kv.k, &kv.n)
		return kv, err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, kv := range got {
		out[kv.k] = kv.n
	}
	return out
}

// Additions to the same row in one pipelined transaction are summed and
// written in one statement at the flush; a read sees them; the same
// instant in two locations is one row.
func TestCounterAdditionsAreSummedUntilTheFlush(t *testing.T) {
	ctx, conn := countsTable(t)
	at := time.Date(2026, 9, 7, 8, 30, 0, 0, time.UTC)
	paris := time.FixedZone("CEST", 2*3600)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx := newPipeTx(tx)
	for range 1000 {
		if err := testCounts.add(ctx, ptx, 1, "a", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := testCounts.add(ctx, ptx, 5, "a", at.In(paris)); err != nil {
		t.Fatal(err)
	}
	if err := testCounts.add(ctx, ptx, 2, "b", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rows := len(ptx.counts[testCounts]); rows != 2 || ptx.batch.Len() != 0 {
		t.Fatalf("before the flush: %d rows pending, %d statements queued; want 2 and 0 (summed in memory)", rows, ptx.batch.Len())
	}
	var n int64
	if err := ptx.QueryRow(ctx, `SELECT n FROM counts WHERE school_id = 'a'`).Scan(&n); err != nil || n != 1005 {
		t.Fatalf("a read after the additions: n = %d, %v; want 1005", n, err)
	}
	// After the flush, more additions add to the stored rows.
	if err := testCounts.add(ctx, ptx, 3, "a", at); err != nil {
		t.Fatal(err)
	}
	if err := ptx.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ptx.execs != 2 {
		t.Errorf("%d statements for two flushes of one counter table, want 2", ptx.execs)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"a@08:30": 1008, "b@08:31": 2}
	if got := readCounts(t, ctx, conn); len(got) != 2 || got["a@08:30"] != want["a@08:30"] || got["b@08:31"] != want["b@08:31"] {
		t.Fatalf("counts = %v, want %v", got, want)
	}
}

// Outside the runner's transaction an addition is written at once.
func TestCounterAdditionOutsideThePipeIsWrittenAtOnce(t *testing.T) {
	ctx, conn := countsTable(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	at := time.Date(2026, 9, 7, 8, 30, 0, 0, time.UTC)
	for range 2 {
		if err := testCounts.add(ctx, tx, 4, "a", at); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT n FROM counts`).Scan(&n); err != nil || n != 8 {
		t.Fatalf("n = %d, %v; want 8", n, err)
	}
}

func TestCounterKeysAreChecked(t *testing.T) {
	ctx := context.Background()
	var ptx pipeTx
	for _, c := range []struct {
		key  []any
		want string
	}{
		{[]any{"a"}, "1 key values for 2 key columns"},
		{[]any{"a", 42}, "column minute (timestamptz): a int, want a time.Time"},
	} {
		err := testCounts.add(ctx, &ptx, 1, c.key...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("add(%v) = %v, want an error containing %q", c.key, err, c.want)
		}
	}
}

var testRows = newUpsertTable("marks", 2, column{"student_id", "text"}, column{"seq", "bigint"},
	column{"grade", "numeric"}, column{"at", "timestamptz"})

// Puts of one key in one flush keep the last; a later flush replaces the
// stored row; all of a flush's rows go in one statement.
func TestUpsertRowsLastPutWins(t *testing.T) {
	ctx, conn := countsTable(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE marks (student_id text, seq bigint, grade numeric NOT NULL, at timestamptz NOT NULL,
		PRIMARY KEY (student_id, seq))`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 9, 7, 8, 30, 0, 0, time.UTC)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx := newPipeTx(tx)
	put := func(student string, seq int64, grade float64) {
		t.Helper()
		if err := testRows.put(ctx, ptx, student, seq, grade, at); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		put("a", int64(i%100), float64(i)) // keys 0..99, each put 5 times
	}
	put("b", 1, 72.25)
	if rows := len(ptx.puts[testRows].rows); rows != 101 || ptx.batch.Len() != 0 {
		t.Fatalf("before the flush: %d rows pending, %d statements queued; want 101 and 0", rows, ptx.batch.Len())
	}
	if err := ptx.flush(ctx); err != nil {
		t.Fatal(err)
	}
	put("b", 1, 80.5) // replaces the stored row
	var n int
	var sumA, b float64
	if err := ptx.QueryRow(ctx, `SELECT count(*), sum(grade) FILTER (WHERE student_id = 'a'),
		max(grade) FILTER (WHERE student_id = 'b') FROM marks`).Scan(&n, &sumA, &b); err != nil {
		t.Fatal(err)
	}
	// The last put of key k (0..99) was i = 400 + k.
	if n != 101 || sumA != float64(100*400+99*100/2) || b != 80.5 {
		t.Errorf("%d rows, a's grades sum to %v, b's grade %v; want 101, %v, 80.5", n, sumA, b, 100*400+99*100/2)
	}
	if ptx.execs != 2 {
		t.Errorf("%d statements for two flushes, want 2", ptx.execs)
	}
}

func TestUpsertRowsAreChecked(t *testing.T) {
	ctx := context.Background()
	var ptx pipeTx
	at := time.Now()
	for _, c := range []struct {
		row  []any
		want string
	}{
		{[]any{"a", int64(1), 2.5}, "3 values for 4 columns"},
		{[]any{"a", 1, 2.5, at}, "column seq (bigint): a int"},
		{[]any{"a", int64(1), "2.5", at}, "column grade (numeric): a string"},
	} {
		err := testRows.put(ctx, &ptx, c.row...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("put(%v) = %v, want an error containing %q", c.row, err, c.want)
		}
	}
}

// A failed deferred write names its table: its rows come from several
// events.
func TestDeferredWriteErrorsNameTheTable(t *testing.T) {
	ctx, conn := countsTable(t) // no marks table
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx := newPipeTx(tx)
	if err := testRows.put(ctx, ptx, "a", int64(1), 50.0, time.Now()); err != nil {
		t.Fatal(err)
	}
	err = ptx.flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "the marks rows of this transaction's events") ||
		!strings.Contains(err.Error(), `relation "marks" does not exist`) {
		t.Fatalf("flush = %v, want the table named and the cause", err)
	}
}

// A table declared with a column type the deferred writes cannot carry
// fails at start-up, naming the table and the column.
func TestDeferredTablesRejectUnknownColumnTypes(t *testing.T) {
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "table odd: column payload has type jsonb") {
			t.Errorf("panic = %q, want one naming the table, column and type", msg)
		}
	}()
	newUpsertTable("odd", 1, column{"id", "text"}, column{"payload", "jsonb"})
}
