package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// upsertTable is a table whose rows a projector writes whole: each put
// inserts the row or replaces every column of the row with its key. The
// last put of a key wins, so the pipelined transaction keeps only that
// one and writes a flush's rows in one statement (see deferred.go), in key
// order. For tables of one row per event (assessments, grades) that turns
// a rebuild's thousand statements per batch into one.
//
// A projector writes an upsert table only through put, and reads it only
// through reads that flush first (Query, QueryRow), never in the SQL of an
// Exec: the rows are written at the flush, after what Exec queued.
type upsertTable struct {
	table  string
	cols   []column // the key columns first
	keys   int
	upsert string
}

func newUpsertTable(table string, keys int, cols ...column) *upsertTable {
	if keys < 1 || keys > maxKeyColumns || keys >= len(cols) {
		panic(fmt.Sprintf("projections: upsert table %s: 1 to %d key columns, and others", table, maxKeyColumns))
	}
	checkColumns(table, cols)
	set := make([]string, 0, len(cols)-keys)
	for _, c := range cols[keys:] {
		set = append(set, c.name+" = excluded."+c.name)
	}
	return &upsertTable{table: table, cols: cols, keys: keys, upsert: upsertSQL(table, cols, keys, set)}
}

// put writes a row: values in the order of the columns, not modified
// afterwards.
func (u *upsertTable) put(ctx context.Context, tx pgx.Tx, values ...any) error {
	if len(values) != len(u.cols) {
		return fmt.Errorf("projections: table %s: %d values for %d columns", u.table, len(values), len(u.cols))
	}
	k, err := keyOf(u.table, u.cols[:u.keys], values)
	if err != nil {
		return err
	}
	for i, c := range u.cols[u.keys:] {
		if err := checkValue(u.table, c, values[u.keys+i]); err != nil {
			return err
		}
	}
	if p, ok := tx.(*pipeTx); ok {
		return p.putRow(u, k, values)
	}
	_, err = tx.Exec(ctx, u.upsert, u.args([][]any{values})...)
	return err
}

// args are the upsert's arguments for rows (see rowArgs).
func (u *upsertTable) args(rows [][]any) []any { return rowArgs(u.cols, u.keys, rows) }

// pendingRows are the rows put to one upsert table since the last flush.
type pendingRows struct {
	rows [][]any
	at   map[rowKey]int // a key's row in rows
}
