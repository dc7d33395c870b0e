package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// counterTable is a table of counters a projector adds to: one row per
// key, one bigint column that only ever grows by additions. Additions
// commute, so the pipelined transaction sums those to the same row and
// writes the sums at its next flush, in one statement (see deferred.go),
// rows in key order: a rebuild writes a busy counter once per batch
// instead of once per event, and concurrent live applies lock counter rows
// in the same order, so they cannot deadlock on them.
//
// A projector writes a counter table only through add (reads are fine:
// every read flushes first).
type counterTable struct {
	table  string
	keys   []column // the primary key
	cols   []column // the keys, then the counter
	upsert string
}

func newCounterTable(table, counter string, keys ...column) *counterTable {
	if len(keys) == 0 || len(keys) > maxKeyColumns {
		panic(fmt.Sprintf("projections: counter table %s: 1 to %d key columns, not %d", table, maxKeyColumns, len(keys)))
	}
	checkColumns(table, keys)
	cols := append(slices.Clone(keys), column{counter, "bigint"})
	return &counterTable{table: table, keys: keys, cols: cols,
		upsert: upsertSQL(table, cols, len(keys), []string{fmt.Sprintf("%s = %s.%s + excluded.%s", counter, table, counter, counter)})}
}

// add adds n to the row of key (values in the order of the key columns).
func (c *counterTable) add(ctx context.Context, tx pgx.Tx, n int64, key ...any) error {
	k, err := keyOf(c.table, c.keys, key)
	if err != nil {
		return err
	}
	if p, ok := tx.(*pipeTx); ok {
		return p.addCounter(c, k, n)
	}
	// Not the runner's transaction (a test, a tool): write it now.
	_, err = tx.Exec(ctx, c.upsert, counterSums{k: n}.args(c)...)
	return err
}

// maxKeyColumns bounds a deferred table's key columns (rowKey's size).
const maxKeyColumns = 4

// rowKey is a row's key values, comparable; unused entries stay nil.
type rowKey [maxKeyColumns]any

// keyOf checks a row's key values against the key columns.
func keyOf(table string, cols []column, vals []any) (rowKey, error) {
	var k rowKey
	if len(vals) < len(cols) {
		return k, fmt.Errorf("projections: table %s: %d key values for %d key columns", table, len(vals), len(cols))
	}
	for i, c := range cols {
		v := vals[i]
		if err := checkValue(table, c, v); err != nil {
			return k, err
		}
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Round(0) // comparable: no monotonic reading, one location
		}
		k[i] = v
	}
	return k, nil
}

// counterSums are the additions queued to one counter table, by row.
type counterSums map[rowKey]int64

// args are the upsert's arguments: one array per key column and the sums,
// rows sorted by key.
func (s counterSums) args(c *counterTable) []any {
	rows := make([][]any, 0, len(s))
	for k, n := range s {
		row := make([]any, len(c.keys)+1)
		copy(row, k[:len(c.keys)])
		row[len(c.keys)] = n
		rows = append(rows, row)
	}
	return rowArgs(c.cols, len(c.keys), rows)
}
