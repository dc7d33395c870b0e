package projections

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
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

// sqlType is what the deferred tables know of a column type: the Go type
// of its values, checked on every write, and how a column of them is
// gathered into the typed slice pgx sends as the column's array.
type sqlType struct {
	goType string
	holds  func(v any) bool
	gather func(rows [][]any, i int) any
}

// sqlTypes are the column types a deferred table may have.
var sqlTypes = map[string]sqlType{
	"text":        typeOf[string](),
	"numeric":     typeOf[float64](),
	"bigint":      typeOf[int64](),
	"date":        typeOf[time.Time](),
	"timestamptz": typeOf[time.Time](),
}

func typeOf[T any]() sqlType {
	return sqlType{
		goType: reflect.TypeFor[T]().String(),
		holds:  func(v any) bool { _, ok := v.(T); return ok },
		gather: func(rows [][]any, i int) any { return gather[T](rows, i) },
	}
}

// columnArray gathers the column's values of rows (at index i of each) into
// the typed slice pgx sends as the column's array.
func columnArray(c column, rows [][]any, i int) any {
	return sqlTypes[c.sqlType].gather(rows, i) // the type is checked by checkColumns
}

func gather[T any](rows [][]any, i int) []T {
	out := make([]T, len(rows))
	for j, r := range rows {
		out[j] = r[i].(T)
	}
	return out
}

// checkColumns panics on a column type the deferred tables do not know:
// tables are declared in package variables, so this fails at start-up.
func checkColumns(table string, cols []column) {
	for _, c := range cols {
		if _, ok := sqlTypes[c.sqlType]; !ok {
			panic(fmt.Sprintf("projections: table %s: column %s has type %s; text, numeric, bigint, date or timestamptz", table, c.name, c.sqlType))
		}
	}
}

// checkValue reports a value of the wrong Go type for its column: string
// for text, float64 for numeric, int64 for bigint, time.Time for date and
// timestamptz.
func checkValue(table string, c column, v any) error {
	if t := sqlTypes[c.sqlType]; !t.holds(v) {
		return fmt.Errorf("projections: table %s: column %s (%s): a %T, want a %s", table, c.name, c.sqlType, v, t.goType)
	}
	return nil
}

// upsertSQL is the statement that writes rows of cols, one array per
// column, into table: a new key inserts its row, a key already there gets
// set (assignments such as "c = excluded.c").
func upsertSQL(table string, cols []column, keys int, set []string) string {
	return fmt.Sprintf(`INSERT INTO %s (%s) SELECT * FROM unnest(%s)
ON CONFLICT (%s) DO UPDATE SET %s`,
		table, strings.Join(columnNames(cols), ", "), unnestParams(cols),
		strings.Join(columnNames(cols[:keys]), ", "), strings.Join(set, ", "))
}

// rowArgs are upsertSQL's arguments for rows of cols (the first keys of
// them the key): one array per column, rows sorted by key, so that
// concurrent transactions lock rows in the same order.
func rowArgs(cols []column, keys int, rows [][]any) []any {
	slices.SortFunc(rows, func(a, b []any) int { return compareKeys(a, b, keys) })
	args := make([]any, len(cols))
	for i, c := range cols {
		args[i] = columnArray(c, rows, i)
	}
	return args
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
