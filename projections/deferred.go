package projections

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Tables a pipelined transaction writes in one statement per flush
// (counterTable, upsertTable): a rebuild applies a thousand events per
// transaction, and one statement carrying a thousand rows costs
// PostgreSQL a fraction of a thousand statements. Their rows travel as
// one array per column, unnested.

// column is a column of such a table and its SQL type.
type column struct{ name, sqlType string }

// columnArray gathers the column's values of rows (at index i of each) into
// the typed slice pgx sends as the column's array.
func columnArray(c column, rows [][]any, i int) any {
	switch c.sqlType {
	case "text":
		return gather[string](rows, i)
	case "numeric":
		return gather[float64](rows, i)
	case "bigint":
		return gather[int64](rows, i)
	case "date", "timestamptz":
		return gather[time.Time](rows, i)
	}
	panic("projections: column type " + c.sqlType) // checked by checkColumns
}

func gather[T any](rows [][]any, i int) []T {
	out := make([]T, len(rows))
	for j, r := range rows {
		out[j] = r[i].(T)
	}
	return out
}

// checkColumns panics on a type columnArray cannot gather: tables are
// declared in package variables, so this fails at start-up.
func checkColumns(table string, cols []column) {
	for _, c := range cols {
		switch c.sqlType {
		case "text", "numeric", "bigint", "date", "timestamptz":
		default:
			panic(fmt.Sprintf("projections: table %s: column %s has type %s; text, numeric, bigint, date or timestamptz", table, c.name, c.sqlType))
		}
	}
}

// checkValue reports a value of the wrong Go type for its column: string
// for text, float64 for numeric, int64 for bigint, time.Time for date and
// timestamptz.
func checkValue(table string, c column, v any) error {
	ok := false
	switch c.sqlType {
	case "text":
		_, ok = v.(string)
	case "numeric":
		_, ok = v.(float64)
	case "bigint":
		_, ok = v.(int64)
	case "date", "timestamptz":
		_, ok = v.(time.Time)
	}
	if !ok {
		return fmt.Errorf("projections: table %s: column %s (%s): a %T", table, c.name, c.sqlType, v)
	}
	return nil
}

// unnestParams is "$1::text[], $2::numeric[], ..." for cols.
func unnestParams(cols []column) string {
	params := make([]string, len(cols))
	for i, c := range cols {
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, c.sqlType)
	}
	return strings.Join(params, ", ")
}

func columnNames(cols []column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return names
}

// compareKeys orders rows by their first n values (strings, times, int64s,
// float64s), so that concurrent transactions lock rows in the same order.
func compareKeys(a, b []any, n int) int {
	for i := range n {
		var c int
		switch x := a[i].(type) {
		case string:
			c = strings.Compare(x, b[i].(string))
		case time.Time:
			c = x.Compare(b[i].(time.Time))
		case int64:
			c = cmp.Compare(x, b[i].(int64))
		case float64:
			c = cmp.Compare(x, b[i].(float64))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
