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

// sortKey is one column of a keyset order: the SQL expression, the type
// its cursor text is cast back to, and how to turn a scanned value into
// cursor text.
type sortKey struct {
	expr string
	typ  string // text, timestamptz, date, numeric, int
}

// after adds the keyset condition "row comes after keys" for an order on
// cols, all ascending or all descending.
func (q *sqlQuery) after(cols []sortKey, desc bool, keys []string) {
	if keys == nil {
		return
	}
	exprs := make([]string, len(cols))
	vals := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c.expr
		vals[i] = q.arg(keys[i]) + "::text::" + c.typ
	}
	op := ">"
	if desc {
		op = "<"
	}
	q.where("(" + strings.Join(exprs, ", ") + ") " + op + " (" + strings.Join(vals, ", ") + ")")
}

func orderBy(cols []sortKey, desc bool) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.expr
		if desc {
			parts[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// cursorTime renders a time sort key for a cursor.
func cursorTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// trimPage cuts the extra row a query fetched to learn whether a next page
// exists, and makes the cursor from the last row kept.
func trimPage[T any](items []T, limit int, list, sort string, keys func(T) []string) Page[T] {
	p := Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeCursor(list, sort, keys(p.Items[limit-1])...)
	}
	return p
}

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
