package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// State is a projection's state as status reports it.
type State string

// States.
const (
	// StateLive: built from the whole store, taking live events.
	StateLive State = "live"
	// StateRebuilding: live, and a rebuild (or the start-up build) runs.
	StateRebuilding State = "rebuilding"
	// StateIncomplete: its tables were created but never built from the
	// whole store (a first start, or a build was interrupted); serve
	// builds it at start.
	StateIncomplete State = "incomplete"
	// StateOutdated: built with another SchemaVersion; serve rebuilds it
	// at start.
	StateOutdated State = "outdated"
	// StateMissing: no schema yet; serve creates and builds it at start.
	StateMissing State = "missing"
)

// Status is a projection's checkpoint, lag and state.
type Status struct {
	Name     string           `json:"name"`
	Schema   string           `json:"schema"`
	Channels []domain.Channel `json:"channels"`
	// StreamCategories are the kinds of streams of those channels it
	// follows (StreamFollower); empty: all of them.
	StreamCategories []string `json:"streamCategories,omitempty"`
	State            State    `json:"state"`
	// SchemaVersion is the code's; BuiltVersion the tables'.
	SchemaVersion int        `json:"schemaVersion"`
	BuiltVersion  int        `json:"builtVersion"`
	BuiltAt       *time.Time `json:"builtAt,omitempty"`
	// Streams is how many streams it has applied events of.
	Streams int64 `json:"streams"`
	// Position is the largest log position applied, and AppliedAt when
	// the last event was applied.
	Position  eventstore.Position `json:"position"`
	AppliedAt *time.Time          `json:"appliedAt,omitempty"`
	// Head is the event store's head position.
	Head eventstore.Position `json:"head"`
	// Lag counts the events of its channels (and stream categories) in
	// the store after Position:
	// 0 when it is caught up. Kafka delivers partitions in parallel, so an
	// event before Position may still be on its way: it is not counted, an
	// approximation that errs on the short side by at most the messages
	// in flight. -1 when unknown (no Config.Lag).
	Lag int64 `json:"lag"`
	// Rebuild is set while a rebuild runs.
	Rebuild *RebuildStatus `json:"rebuild,omitempty"`
}

// RebuildStatus is a running rebuild's progress, as another process sees
// it.
type RebuildStatus struct {
	StartedAt time.Time           `json:"startedAt"`
	Events    int64               `json:"events"`   // log events replayed so far
	Position  eventstore.Position `json:"position"` // the last one's
}

// Status reports every registered projection, in registration order.
func (r *Registry) Status(ctx context.Context) ([]Status, error) {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: status: %w", err)
	}
	out := make([]Status, 0, len(r.all))
	for _, e := range r.all {
		s, err := r.status(ctx, e, head)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// StatusOf reports one projection.
func (r *Registry) StatusOf(ctx context.Context, name string) (Status, error) {
	e, err := r.entry(name)
	if err != nil {
		return Status{}, err
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("projections: status: %w", err)
	}
	return r.status(ctx, e, head)
}

func (r *Registry) status(ctx context.Context, e *entry, head eventstore.Position) (Status, error) {
	s := Status{Name: e.name, Schema: e.live, Channels: e.p.Channels(), StreamCategories: slices.Clone(e.streams), SchemaVersion: e.version,
		Head: head, Lag: -1}
	fail := func(err error) (Status, error) {
		return Status{}, fmt.Errorf("projections: status of %s: %w", e.name, err)
	}
	info, err := readInfo(ctx, r.cfg.DB, e.live)
	if err != nil {
		return fail(err)
	}
	building, err := r.buildRunning(ctx, e)
	if err != nil {
		return fail(err)
	}
	s.State = e.builtState(info)
	if building && info.exists {
		s.State = StateRebuilding
	}
	if building {
		if ri, err := readInfo(ctx, r.cfg.DB, e.rebuild); err == nil && ri.exists && ri.rebuildStarted != nil {
			s.Rebuild = &RebuildStatus{StartedAt: ri.rebuildStarted.UTC()}
			if ri.rebuildEvents != nil {
				s.Rebuild.Events = *ri.rebuildEvents
			}
			if ri.rebuildPosition != nil {
				s.Rebuild.Position = eventstore.Position(*ri.rebuildPosition)
			}
		}
	}
	if !info.exists {
		return s, nil
	}
	s.BuiltVersion, s.BuiltAt = info.version, utc(info.builtAt)
	var position int64
	var appliedAt *time.Time
	err = r.cfg.DB.QueryRow(ctx, `SELECT count(*), coalesce(max(position), 0), max(applied_at) FROM `+ident(e.live)+`.applied`).
		Scan(&s.Streams, &position, &appliedAt)
	if err != nil {
		return fail(err)
	}
	s.Position, s.AppliedAt = eventstore.Position(position), utc(appliedAt)
	s.Lag, err = r.lag(ctx, e, s.Position)
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// builtState is the state of e's live tables as their info row tells,
// whether or not a build runs: missing, incomplete, outdated (built with
// another SchemaVersion) or live.
func (e *entry) builtState(info schemaInfo) State {
	switch {
	case !info.exists:
		return StateMissing
	case !info.complete:
		return StateIncomplete
	case info.version != e.version:
		return StateOutdated
	}
	return StateLive
}

// Outdated reports whether the projection's live tables are not yet what
// this release's code reads: missing, never completely built, or built
// with another SchemaVersion. Those are the projections serve builds at
// start (Setup) while the API already serves, so a query of one may fail
// until the build swaps the new tables in. Only the info row is read (no
// lock, no count): the query API asks after a query failed.
func (r *Registry) Outdated(ctx context.Context, name string) (bool, error) {
	e, err := r.entry(name)
	if err != nil {
		return false, err
	}
	info, err := readInfo(ctx, r.cfg.DB, e.live)
	if err != nil {
		return false, fmt.Errorf("projections: state of %s: %w", name, err)
	}
	return e.builtState(info) != StateLive, nil
}

// LagCounter counts the events of the given types that follow position
// after in the event store, in streams of the given categories (nil: in
// every stream).
type LagCounter func(ctx context.Context, after eventstore.Position, types, categories []string) (int64, error)

// PostgresLag counts in the PostgreSQL event store's table, in db's
// database (an index range scan from after).
func PostgresLag(db *pgxpool.Pool) LagCounter {
	return func(ctx context.Context, after eventstore.Position, types, categories []string) (int64, error) {
		var n int64
		err := db.QueryRow(ctx, `SELECT count(*) FROM events WHERE position > $1 AND type = ANY($2)
			AND ($3::text[] IS NULL OR split_part(stream_id, '-', 1) = ANY($3))`, int64(after), types, categories).Scan(&n)
		return n, err
	}
}

// lag counts the events of e's channels and streams after position; -1
// if unknown.
func (r *Registry) lag(ctx context.Context, e *entry, after eventstore.Position) (int64, error) {
	if r.cfg.Lag == nil {
		return -1, nil
	}
	var types []string
	for _, t := range domain.EventTypes() {
		if e.consumes(t) {
			types = append(types, t)
		}
	}
	return r.cfg.Lag(ctx, after, types, e.streams)
}

// buildRunning reports whether some session holds e's build lock.
func (r *Registry) buildRunning(ctx context.Context, e *entry) (bool, error) {
	var held bool
	err := r.cfg.DB.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM pg_locks
		 WHERE locktype = 'advisory' AND granted AND objsubid = 2
		   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		   AND classid = $1::bigint::oid
		   AND objid = (hashtext($2)::bigint & 4294967295)::oid)`, int64(lockBuild), e.name).Scan(&held)
	return held, err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Checksums returns an MD5 checksum of every table of the projection's
// live schema (the runner's bookkeeping tables aside), by table name: the
// rows' text forms in sorted order, so equal checksums mean equal tables.
// Tests and operators compare a projection before and after a rebuild.
func (r *Registry) Checksums(ctx context.Context, name string) (map[string]string, error) {
	e, err := r.entry(name)
	if err != nil {
		return nil, err
	}
	rows, err := r.cfg.DB.Query(ctx, `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT IN ($2, $3)
		ORDER BY table_name`, e.live, appliedTable, infoTable)
	if err != nil {
		return nil, fmt.Errorf("projections: checksums of %s: %w", name, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: checksums of %s: %w", name, err)
	}
	out := make(map[string]string, len(tables))
	for _, t := range tables {
		var sum string
		err := r.cfg.DB.QueryRow(ctx, `SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) || ':' || count(*)
			FROM `+ident(e.live)+`.`+ident(t)+` t`).Scan(&sum)
		if err != nil {
			return nil, fmt.Errorf("projections: checksum of %s.%s: %w", e.live, t, err)
		}
		out[t] = sum
	}
	return out, nil
}
