package projections

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/edusmarthub/edusmarthub/domain"
)

// What the read-model query functions share: the connection they read
// through, pagination, errors.
//
// Every query function takes the school (tenant) first and filters every
// table it reads by it (DESIGN.md rule 4): asking school B for a row of
// school A answers not found or an empty page, never A's data. The query
// functions do not know the caller: which role may see what (a guardian
// only their own children, a teacher their classes) is the HTTP layer's
// decision, made with the lookups these functions offer.
//
// Queries read the live schema rm_<name> by its qualified name; a rebuild
// swaps a new schema in under that name atomically.

// Querier is what query functions read through: *pgxpool.Pool, *pgx.Conn
// and pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Execer is a Querier that also writes, for the few read-model-local
// writes (inbox read marks, dead letters).
type Execer interface {
	Querier
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Page sizes.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// PageParams selects a page of a list: Cursor is the NextCursor of the
// previous page ("" for the first), Limit the page size (0 for
// DefaultPageLimit, at most MaxPageLimit).
type PageParams struct {
	Cursor string
	Limit  int
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// ErrNotFound is matched (errors.Is) by the error of a query for one row
// that does not exist in the school asked about. The error is a
// *domain.Error of kind not found, so the HTTP layer maps it like the
// command side's.
var ErrNotFound = errors.New("projections: not found")

func notFound(format string, args ...any) error {
	return &domain.Error{Kind: domain.KindNotFound, Message: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// requireSchool rejects a query without a school: tenancy is mandatory.
func requireSchool(schoolID string) error {
	if strings.TrimSpace(schoolID) == "" {
		return domain.Invalid("schoolId", "is required")
	}
	return nil
}

// pageLimit validates a page size.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageLimit, nil
	case n < 0 || n > MaxPageLimit:
		return 0, domain.Invalid("limit", "must be between 1 and %d, got %d", MaxPageLimit, n)
	}
	return n, nil
}

// pageCursor is the decoded form of an opaque cursor: the list and sort it
// belongs to, and the sort keys of the last row of the previous page, as
// text (SQL casts them back).
type pageCursor struct {
	List string   `json:"l"`
	Sort string   `json:"s,omitempty"`
	Keys []string `json:"k"`
}

func encodeCursor(list, sort string, keys ...string) string {
	b, _ := json.Marshal(pageCursor{List: list, Sort: sort, Keys: keys}) // strings only: never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the n keys of a cursor of list sorted by sort; an
// empty cursor returns nil (first page).
func decodeCursor(s, list, sort string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c pageCursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.List != list || c.Sort != sort || len(c.Keys) != n {
		return nil, domain.Invalid("cursor", "is not a cursor of this list and sort order")
	}
	return c.Keys, nil
}

// sqlQuery accumulates the conditions and arguments of a query built from
// optional filters. Only argument placeholders carry input; column names
// and sort orders come from fixed lists.
type sqlQuery struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (q *sqlQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// where adds a condition (ANDed with the others).
func (q *sqlQuery) where(cond string) { q.conds = append(q.conds, cond) }

func (q *sqlQuery) whereSQL() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// sortKey is one column of a keyset order: the SQL expression and the
// type its cursor text is cast back to.
type sortKey struct {
	expr string
	typ  string // text, timestamptz, date, numeric, int, bigint, float8
}

// keyset is how a list pages: by the values of its order's columns, all
// ascending or all descending, each page starting after the last row of
// the page before. Its list name and sort go into every cursor it makes,
// so a cursor is good only for the list and order that made it (sort
// names the order where a list offers several, or a filter the cursor is
// bound to).
type keyset struct {
	list string
	sort string
	cols []sortKey
	desc bool
}

// listPage is one page asked of a keyset list, checked: its size and the
// keys it starts after (nil: the first page).
type listPage struct {
	keyset
	limit int
	keys  []string
}

// page checks the page size and the cursor of p against the list.
func (k keyset) page(p PageParams) (listPage, error) {
	limit, err := pageLimit(p.Limit)
	if err != nil {
		return listPage{}, err
	}
	keys, err := decodeCursor(p.Cursor, k.list, k.sort, len(k.cols))
	if err != nil {
		return listPage{}, err
	}
	return listPage{keyset: k, limit: limit, keys: keys}, nil
}

// clauses adds "after the cursor" to q's conditions and returns what
// follows a query's FROM: the conditions, the order, and a limit of one
// row more than the page, which tells whether another page follows.
func (p listPage) clauses(q *sqlQuery) string {
	if p.keys != nil {
		exprs := make([]string, len(p.cols))
		vals := make([]string, len(p.cols))
		for i, c := range p.cols {
			exprs[i] = c.expr
			vals[i] = q.arg(p.keys[i]) + "::text::" + c.typ
		}
		op := ">"
		if p.desc {
			op = "<"
		}
		q.where("(" + strings.Join(exprs, ", ") + ") " + op + " (" + strings.Join(vals, ", ") + ")")
	}
	order := make([]string, len(p.cols))
	for i, c := range p.cols {
		order[i] = c.expr
		if p.desc {
			order[i] += " DESC"
		}
	}
	return q.whereSQL() + " ORDER BY " + strings.Join(order, ", ") + " LIMIT " + q.arg(p.limit+1)
}

// queryPage runs selectFrom (a query up to and including its FROM) with
// q's conditions as page p, scans the rows with scan and makes the next
// page's cursor with keys, which renders a row's values of p's columns.
func queryPage[T any](ctx context.Context, db Querier, p listPage, selectFrom string, q *sqlQuery,
	scan func(pgx.Rows) (T, error), keys func(T) []string) (Page[T], error) {
	// The SQL first: clauses adds arguments, and Go does not say whether
	// q.args would be read before or after it in one call's arguments.
	sql := selectFrom + p.clauses(q)
	rows, err := db.Query(ctx, sql, q.args...)
	if err != nil {
		return Page[T]{}, err
	}
	items, err := collect(rows, scan)
	if err != nil {
		return Page[T]{}, err
	}
	out := Page[T]{Items: items}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(items) > p.limit {
		out.Items = items[:p.limit]
		out.NextCursor = encodeCursor(p.list, p.sort, keys(out.Items[p.limit-1])...)
	}
	return out, nil
}

// cursorTime renders a time sort key for a cursor.
func cursorTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// dateParam parses an optional "YYYY-MM-DD" filter.
func dateParam(field, s string) (*time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	d, err := domain.ParseDate(field, s)
	if err != nil {
		return nil, err
	}
	t := d.Time()
	return &t, nil
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
