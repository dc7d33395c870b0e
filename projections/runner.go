package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// The runner: it applies events to projections exactly once per stream
// version, whatever the delivery (duplicates, redeliveries after a crash,
// streams interleaved in any order, events missing because an earlier one
// went to the dead-letter topic).
//
// Every projection's schema holds, beside its tables, two bookkeeping
// tables:
//
//	applied(stream_id, version, position, applied_at): per stream, the
//	  last version applied. It is written in the transaction that changes
//	  the tables (DESIGN.md rule 3), so an event is applied once or not at
//	  all. A stream version at or below it is a duplicate and skipped; one
//	  above the next is a gap, filled from the event store first.
//	projection_info: one row: the schema version the tables were built
//	  with, whether the build from the store completed, rebuild progress.
//
// A projection's tables are rebuilt in a copy of the schema and swapped in
// by renaming (rebuild.go). Live applies and the swap take one advisory
// lock per projection: each apply shares it for its transaction, the swap
// holds it exclusively, so applies pause for the swap and then continue on
// the new schema.

// Schema names.
const (
	schemaPrefix  = "rm_"
	rebuildSuffix = "__rebuild"
	oldSuffix     = "__old"
)

// SchemaName is the live schema of the projection called name.
func SchemaName(name string) string { return schemaPrefix + name }

// Advisory lock keys, the two-int form (key, hashtext(projection name)).
const (
	// lockApply: live applies share it per transaction; a rebuild's swap
	// takes it exclusively.
	lockApply int32 = 1886547811
	// lockBuild: held for the session by whoever builds a projection's
	// tables (a rebuild, or serve's start-up), so one build at a time.
	lockBuild int32 = 1886547812
)

// Tables the runner keeps in each projection's schema; checksums skip them.
const (
	appliedTable = "applied"
	infoTable    = "projection_info"
)

const bookkeepingDDL = `
CREATE TABLE IF NOT EXISTS applied (
    stream_id  text        PRIMARY KEY,
    version    bigint      NOT NULL,
    position   bigint      NOT NULL,
    applied_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS projection_info (
    only_row           boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    name               text        NOT NULL,
    schema_version     integer     NOT NULL,
    complete           boolean     NOT NULL, -- built from the whole store
    built_at           timestamptz,          -- when it was built (swapped in)
    rebuild_started_at timestamptz,          -- while this is a rebuild copy
    rebuild_events     bigint,               -- log events replayed so far
    rebuild_position   bigint                -- position of the last one
);
`

// ErrRebuildRunning is matched by the error of a rebuild of a projection
// that another process or goroutine is rebuilding.
var ErrRebuildRunning = errors.New("projections: a rebuild of this projection is running")

// ErrUnknownProjection is matched by errors about a name no registered
// projection has.
var ErrUnknownProjection = errors.New("projections: unknown projection")

// ErrInvalidEvent is matched by the error of Apply for an event that can
// never be applied (no stream, version 0): retrying will not help, so the
// caller should dead-letter it.
var ErrInvalidEvent = errors.New("projections: invalid event")

// EventSource is the part of the event store the runner reads: streams to
// fill gaps, the global log for rebuilds, the head for status.
// eventstore.Store satisfies it.
type EventSource interface {
	ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error)
	ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error)
	Head(ctx context.Context) (eventstore.Position, error)
}

// Config configures a Registry.
type Config struct {
	// DB holds the read models (required). With the PostgreSQL event
	// store in the same database, status also counts lag from its events
	// table.
	DB *pgxpool.Pool
	// Store is the event store (required).
	Store EventSource
	// Logger gets start-up decisions and rebuild outcomes (default: none).
	Logger *slog.Logger
	// Registerer, when set, gets the runner's metrics.
	Registerer prometheus.Registerer
	// Lag counts, for status, the events of some types after a position;
	// PostgresLag when the events are in the PostgreSQL store. Without
	// it status reports the lag as unknown (-1).
	Lag LagCounter
	// RebuildBatch is how many log events a rebuild reads and applies per
	// transaction (default 1000).
	RebuildBatch int
	// WaitPoll is how often WaitApplied looks again (default 10ms).
	WaitPoll time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RebuildBatch == 0 {
		c.RebuildBatch = 1000
	}
	if c.WaitPoll == 0 {
		c.WaitPoll = 10 * time.Millisecond
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("projections: Config.DB is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("projections: Config.Store is required"))
	}
	if c.RebuildBatch < 0 {
		errs = append(errs, fmt.Errorf("projections: Config.RebuildBatch must be positive, not %d", c.RebuildBatch))
	}
	if c.WaitPoll < 0 {
		errs = append(errs, fmt.Errorf("projections: Config.WaitPoll must be positive, not %s", c.WaitPoll))
	}
	return errors.Join(errs...)
}

// Registry is the set of projections the service runs, and the runner
// that applies events to them.
type Registry struct {
	cfg     Config
	all     []*entry
	byName  map[string]*entry
	slots   chan struct{} // bounds concurrent applies: see applySlots
	drains  sync.WaitGroup
	metrics *runnerMetrics
}

// entry is a registered projection.
type entry struct {
	p        Projection
	name     string
	version  int
	channels map[domain.Channel]bool
	streams  []string // the stream categories followed, sorted; nil: all
	live     string   // schema names
	rebuild  string
	old      string
	queue    applyQueue // live events waiting to be applied
}

// consumes reports whether the projection sees events of this type: those
// of its channels. Others of a stream it follows only advance its version.
func (e *entry) consumes(eventType string) bool {
	ch, ok := domain.ChannelOf(eventType)
	return ok && e.channels[ch]
}

// follows reports whether the projection keeps track of a stream
// (StreamFollower).
func (e *entry) follows(stream string) bool {
	return e.streams == nil || slices.Contains(e.streams, eventstore.Category(stream))
}

// wants reports whether the projector is given ev.
func (e *entry) wants(ev eventstore.RecordedEvent) bool {
	return e.consumes(ev.Type) && e.follows(ev.StreamID)
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// maxNameLen keeps rm_<name>__rebuild within PostgreSQL's 63 bytes.
const maxNameLen = 40

// NewRegistry returns a registry of projections. Names must be unique,
// lower-case identifiers ([a-z][a-z0-9_]*, no "__", at most 40 bytes),
// and every projection needs at least one known channel.
func NewRegistry(cfg Config, projections ...Projection) (*Registry, error) {
	cfg.setDefaults()
	errs := []error{cfg.Validate()}
	r := &Registry{cfg: cfg, byName: map[string]*entry{}}
	known := map[domain.Channel]bool{}
	for _, ch := range domain.Channels() {
		known[ch] = true
	}
	for i, p := range projections {
		if p == nil {
			errs = append(errs, fmt.Errorf("projections: projection %d is nil", i))
			continue
		}
		name := p.Name()
		switch {
		case !validName.MatchString(name) || strings.Contains(name, "__") || len(name) > maxNameLen:
			errs = append(errs, fmt.Errorf("projections: name %q: want a lower-case identifier ([a-z][a-z0-9_]*, no \"__\", at most %d bytes)", name, maxNameLen))
			continue
		case r.byName[name] != nil:
			errs = append(errs, fmt.Errorf("projections: name %q registered twice", name))
			continue
		}
		e := &entry{p: p, name: name, channels: map[domain.Channel]bool{},
			live: SchemaName(name), rebuild: SchemaName(name) + rebuildSuffix, old: SchemaName(name) + oldSuffix}
		if v, ok := p.(SchemaVersioner); ok {
			e.version = v.SchemaVersion()
		}
		if len(p.Channels()) == 0 {
			errs = append(errs, fmt.Errorf("projections: %s consumes no channel", name))
		}
		for _, ch := range p.Channels() {
			if !known[ch] {
				errs = append(errs, fmt.Errorf("projections: %s: unknown channel %q", name, ch))
			}
			e.channels[ch] = true
		}
		if f, ok := p.(StreamFollower); ok {
			e.streams = []string{}
			for _, c := range f.StreamCategories() {
				if c == "" || strings.Contains(c, "-") {
					errs = append(errs, fmt.Errorf("projections: %s: stream category %q: want a stream ID's part before its first \"-\"", name, c))
				}
				e.streams = append(e.streams, c)
			}
			slices.Sort(e.streams)
			e.streams = slices.Compact(e.streams)
			if len(e.streams) == 0 {
				errs = append(errs, fmt.Errorf("projections: %s follows no stream category", name))
			}
		}
		r.all = append(r.all, e)
		r.byName[name] = e
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.slots = make(chan struct{}, applySlots(cfg.DB))
	m, err := newRunnerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// applySlots bounds concurrent applies to half the pool: an apply holds
// a connection for its transaction and may need another to read a gap from
// the store, so the other half keeps that from ever waiting on itself.
func applySlots(db *pgxpool.Pool) int {
	return max(1, int(db.Config().MaxConns)/2)
}

// Projections returns the registered projections, in registration order.
func (r *Registry) Projections() []Projection {
	out := make([]Projection, len(r.all))
	for i, e := range r.all {
		out[i] = e.p
	}
	return out
}

// Names returns the registered projections' names, in registration order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.all))
	for i, e := range r.all {
		out[i] = e.name
	}
	return out
}

// Get returns the projection called name.
func (r *Registry) Get(name string) (Projection, bool) {
	e, ok := r.byName[name]
	if !ok {
		return nil, false
	}
	return e.p, true
}

func (r *Registry) entry(name string) (*entry, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownProjection, name, strings.Join(r.Names(), ", "))
	}
	return e, nil
}

func (r *Registry) entries(names []string) ([]*entry, error) {
	if len(names) == 0 {
		return nil, errors.New("projections: no projection named")
	}
	out := make([]*entry, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		e, err := r.entry(n)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// Setup makes every projection ready to consume, at service start: it
// creates missing schemas, builds from the event store those that were
// never completely built or whose SchemaVersion changed, and runs every
// Schema (idempotent DDL) on the others. Replicas starting together take
// turns: a projection is built once.
func (r *Registry) Setup(ctx context.Context) (err error) {
	locks, err := r.lockBuilds(ctx, r.all, true)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, locks.release(ctx)) }()
	// An empty store now means a new projection needs no build: its new
	// consumer group reads every event from Kafka, from the first one.
	// (Read once, first: events appended while this runs do not change
	// that, and the projections do not wait on one another.)
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	var build []*entry
	for _, e := range r.all {
		info, err := readInfo(ctx, r.cfg.DB, e.live)
		if err != nil {
			return fmt.Errorf("projection %s: %w", e.name, err)
		}
		switch {
		case !info.exists:
			// Queries find empty tables while it builds, not missing ones.
			if err := r.createSchema(ctx, e, e.live, head == 0); err != nil {
				return err
			}
			if head > 0 {
				r.cfg.Logger.Info("projection is new: building it from the event store", "projection", e.name)
				build = append(build, e)
			}
		case !info.complete:
			r.cfg.Logger.Info("projection was never completely built: building it from the event store", "projection", e.name)
			build = append(build, e)
		case info.version != e.version:
			r.cfg.Logger.Info("projection's schema version changed: rebuilding it", "projection", e.name,
				"from", info.version, "to", e.version)
			build = append(build, e)
		default:
			if err := r.createSchema(ctx, e, e.live, true); err != nil {
				return err
			}
		}
	}
	if len(build) == 0 {
		return nil
	}
	// Only the builds hold their locks from here (status shows them
	// rebuilding, the others live).
	if err := locks.keep(ctx, build); err != nil {
		return err
	}
	_, err = r.rebuildLocked(ctx, build, RebuildOptions{})
	return err
}

// createSchema creates schema (if missing) with the bookkeeping tables and
// the projection's own, and its info row (if missing).
func (r *Registry) createSchema(ctx context.Context, e *entry, schema string, complete bool) error {
	err := pgx.BeginFunc(ctx, r.cfg.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(schema)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", searchPath(schema)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, bookkeepingDDL); err != nil {
			return fmt.Errorf("bookkeeping tables: %w", err)
		}
		if _, err := tx.Exec(ctx, e.p.Schema()); err != nil {
			return fmt.Errorf("the projection's Schema(): %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+ident(schema)+`.projection_info (name, schema_version, complete, built_at)
			VALUES ($1, $2, $3, CASE WHEN $3 THEN now() END) ON CONFLICT (only_row) DO NOTHING`, e.name, e.version, complete)
		return err
	})
	if err != nil {
		return fmt.Errorf("projection %s: create schema %s: %w", e.name, schema, err)
	}
	return nil
}

// applyOne hands an event to the projector if it is of its channels.
func applyOne(ctx context.Context, ptx *pipeTx, e *entry, ev eventstore.RecordedEvent) error {
	if !e.wants(ev) {
		return nil
	}
	ptx.during(describe(ev))
	if err := e.p.Apply(ctx, ptx, ev); err != nil {
		if ptx.err != nil {
			return ptx.err // the root cause, with the event that caused it
		}
		return fmt.Errorf("%s: %w", describe(ev), err)
	}
	return nil
}

// describe names an event in errors.
func describe(ev eventstore.RecordedEvent) string {
	return fmt.Sprintf("%s version %d (%s, position %d)", ev.StreamID, ev.Version, ev.Type, ev.Position)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// searchPath puts schema first and public after it (for functions and
// types a projector may use).
func searchPath(schema string) string { return ident(schema) + ", public" }

// schemaInfo is what readInfo found of a schema.
type schemaInfo struct {
	exists   bool
	complete bool
	version  int
	builtAt  *time.Time
	// while it is a rebuild copy
	rebuildStarted  *time.Time
	rebuildEvents   *int64
	rebuildPosition *int64
}

// readInfo reads a projection schema's info row. A schema without one
// (created by hand, or half-created) reads as existing but incomplete.
func readInfo(ctx context.Context, db *pgxpool.Pool, schema string) (schemaInfo, error) {
	var info schemaInfo
	var hasTable bool
	err := db.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL, to_regclass($2) IS NOT NULL`,
		ident(schema), ident(schema)+"."+infoTable).Scan(&info.exists, &hasTable)
	if err != nil || !info.exists || !hasTable {
		return info, err
	}
	err = db.QueryRow(ctx, `SELECT schema_version, complete, built_at, rebuild_started_at, rebuild_events, rebuild_position
		FROM `+ident(schema)+`.projection_info`).Scan(&info.version, &info.complete, &info.builtAt,
		&info.rebuildStarted, &info.rebuildEvents, &info.rebuildPosition)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, nil
	}
	return info, err
}

// buildLocks are the session-level build locks of some projections, held
// on one connection.
type buildLocks struct {
	conn  *pgxpool.Conn
	names []string
}

// lockBuilds takes the build locks of entries: waiting for them, or
// failing with ErrRebuildRunning if one is held.
func (r *Registry) lockBuilds(ctx context.Context, entries []*entry, wait bool) (*buildLocks, error) {
	conn, err := r.cfg.DB.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	l := &buildLocks{conn: conn}
	for _, e := range entries {
		if wait {
			_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, lockBuild, e.name)
		} else {
			var got bool
			err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockBuild, e.name).Scan(&got)
			if err == nil && !got {
				err = fmt.Errorf("%w: %s (see `edusmarthub projections status`)", ErrRebuildRunning, e.name)
			}
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("projection %s: %w", e.name, err), l.release(ctx))
		}
		l.names = append(l.names, e.name)
	}
	return l, nil
}

// keep unlocks every lock but those of entries.
func (l *buildLocks) keep(ctx context.Context, entries []*entry) error {
	var kept []string
	for _, n := range l.names {
		if !slices.ContainsFunc(entries, func(e *entry) bool { return e.name == n }) {
			if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockBuild, n); err != nil {
				return fmt.Errorf("projections: unlock %s: %w", n, err)
			}
			continue
		}
		kept = append(kept, n)
	}
	l.names = kept
	return nil
}

// release unlocks and returns the connection to the pool; a connection
// whose unlock failed is closed instead, which releases its locks too.
func (l *buildLocks) release(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	for _, n := range l.names {
		if _, uerr := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockBuild, n); uerr != nil {
			err = fmt.Errorf("projections: unlock %s: %w", n, uerr)
			break
		}
	}
	if err != nil {
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	return err
}

// runnerMetrics are the live applies' metrics; nil-safe.
type runnerMetrics struct {
	applies *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newRunnerMetrics(reg prometheus.Registerer) (*runnerMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &runnerMetrics{
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edusmarthub_projection_applies_total",
			Help: "Events handed to a projection by the live consumer, by outcome (applied, gap_filled, duplicate, error).",
		}, []string{"projection", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edusmarthub_projection_apply_seconds",
			Help:    "Time from handing a live event to a projection to its commit (queueing for the projection's next transaction included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"projection"}),
	}
	for _, c := range []prometheus.Collector{m.applies, m.seconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("projections: metrics: %w", err)
		}
	}
	return m, nil
}

func (m *runnerMetrics) applied(projection, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.applies.WithLabelValues(projection, outcome).Inc()
	m.seconds.WithLabelValues(projection).Observe(took.Seconds())
}
