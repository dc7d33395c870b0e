package projections_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Runner tests: a tiny projection of teachers (ledger, below) fed through
// the real runner, with events appended by the real commands to the real
// store.

// ledger keeps a row per teacher and per school, and totals per school
// that several streams add to (commutative, so any interleaving of
// streams gives the same totals). Deactivation reads the teacher's row
// back (flushing the pipelined writes before it).
type ledger struct {
	name    string
	version int
	failOn  string // a teacher name whose creation fails, for error tests
}

func (l ledger) Name() string       { return l.name }
func (l ledger) SchemaVersion() int { return l.version }
func (ledger) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelSchool, domain.ChannelTeacher}
}

func (ledger) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS schools (school_id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE IF NOT EXISTS teachers (
    teacher_id text PRIMARY KEY, school_id text NOT NULL, name text NOT NULL,
    status text NOT NULL, changes integer NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS teachers_school_idx ON teachers (school_id, name);
CREATE TABLE IF NOT EXISTS school_totals (
    school_id text PRIMARY KEY, teachers integer NOT NULL DEFAULT 0,
    deactivated integer NOT NULL DEFAULT 0, events integer NOT NULL DEFAULT 0);
`
}

func (l ledger) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	ev, err := domain.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	total := func(col string) error {
		_, err := tx.Exec(ctx, `INSERT INTO school_totals (school_id, `+col+`, events) VALUES ($1, 1, 1)
			ON CONFLICT (school_id) DO UPDATE SET `+col+` = school_totals.`+col+` + 1, events = school_totals.events + 1`,
			e.Metadata.SchoolID)
		return err
	}
	switch ev := ev.(type) {
	case domain.SchoolRegistered:
		_, err = tx.Exec(ctx, `INSERT INTO schools (school_id, name) VALUES ($1, $2)`, ev.SchoolID, ev.Name)
	case domain.TeacherCreated:
		if l.failOn != "" && ev.Name == l.failOn {
			_, _ = tx.Exec(ctx, `INSERT INTO no_such_table VALUES ($1)`, ev.Name)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO teachers VALUES ($1, $2, $3, 'active', 0, $4)`,
			ev.TeacherID, ev.SchoolID, ev.Name, ev.At); err == nil {
			err = total("teachers")
		}
	case domain.TeacherPreferencesUpdated:
		if _, err = tx.Exec(ctx, `UPDATE teachers SET changes = changes + 1, updated_at = $2 WHERE teacher_id = $1`,
			ev.TeacherID, ev.At); err == nil {
			_, err = tx.Exec(ctx, `UPDATE school_totals SET events = events + 1 WHERE school_id = $1`, e.Metadata.SchoolID)
		}
	case domain.TeacherDeactivated:
		var name string
		if err = tx.QueryRow(ctx, `SELECT name FROM teachers WHERE teacher_id = $1`, ev.TeacherID).Scan(&name); err != nil {
			return fmt.Errorf("the teacher's row, written earlier in the stream: %w", err)
		}
		if _, err = tx.Exec(ctx, `UPDATE teachers SET status = $2, changes = changes + 1, updated_at = $3 WHERE teacher_id = $1`,
			ev.TeacherID, "inactive:"+name, ev.At); err == nil {
			err = total("deactivated")
		}
	}
	return err
}

// env is a database with the store, a command repository and a registry.
type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *postgres.Store
	repo  *commands.Repository
	reg   *projections.Registry
	clock time.Time
	mu    sync.Mutex
}

func newEnv(t *testing.T, ps ...projections.Projection) *env {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)
	e := &env{t: t, pool: pool, store: store, clock: time.Date(2026, 9, 7, 8, 0, 0, 0, time.UTC)}
	e.repo = commands.NewRepository(store, e.now)
	e.reg = e.registry(ps...)
	return e
}

// indexes lists the definitions of the projection's indexes.
func (e *env) indexes(name string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, "rm_"+name)
	if err != nil {
		e.t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return defs
}

// now is a clock that ticks a millisecond per reading, so events differ.
func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(time.Millisecond)
	return e.clock
}

func (e *env) registry(ps ...projections.Projection) *projections.Registry {
	e.t.Helper()
	reg, err := projections.NewRegistry(projections.Config{DB: e.pool, Store: e.store, RebuildBatch: 7, WaitPoll: 2 * time.Millisecond,
		Lag: projections.PostgresLag(e.pool)}, ps...)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := reg.Setup(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return reg
}

var platform = commands.Meta{Actor: commands.Actor{ID: "platform-1", Roles: []commands.Role{commands.RolePlatformAdmin}}}

func adminOf(school string) commands.Meta {
	return commands.Meta{SchoolID: school, Actor: commands.Actor{ID: "admin-" + school[:8], Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: school}}
}

// school registers a school with teachers; some change preferences, some
// leave. It returns the results of the commands.
func (e *env) school(teachers int) (string, []commands.Result) {
	e.t.Helper()
	id, out, err := e.trySchool(teachers)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, out
}

// trySchool is school for goroutines other than the test's.
func (e *env) trySchool(teachers int) (id string, out []commands.Result, err error) {
	ctx := context.Background()
	id = uuid.NewString()
	must := func(r commands.Result, cerr error) {
		if cerr != nil && err == nil {
			err = cerr
		}
		out = append(out, r)
	}
	must(commands.NewRegisterSchoolHandler(e.repo).Handle(ctx, platform, commands.RegisterSchool{SchoolID: id, Name: "School " + id[:4], Timezone: "Europe/London"}))
	m := adminOf(id)
	for i := range teachers {
		r, err := commands.NewCreateTeacherHandler(e.repo).Handle(ctx, m, commands.CreateTeacher{
			Name: fmt.Sprintf("Teacher %d", i), Email: fmt.Sprintf("t%d@%s.example", i, id[:8]), Subjects: []string{"mathematics"},
			Preferences: domain.PreferencesInput{PreferredTimeSlots: []string{"morning"}, MaxClassesPerDay: 4}})
		must(r, err)
		if i%2 == 0 {
			must(commands.NewUpdateTeacherPreferencesHandler(e.repo).Handle(ctx, m, commands.UpdateTeacherPreferences{
				TeacherID: r.ID, Preferences: domain.PreferencesInput{PreferredTimeSlots: []string{"afternoon"}, MaxClassesPerDay: 3}}))
		}
		if i%3 == 0 {
			must(commands.NewDeactivateTeacherHandler(e.repo).Handle(ctx, m, commands.DeactivateTeacher{TeacherID: r.ID, Reason: "moved away"}))
		}
	}
	return id, out, err
}

// log returns the store's whole log. The log shows an event only once
// every transaction older than its own has ended, in the whole cluster
// (see eventstore/postgres), and parallel tests run some: wait until it
// shows every event committed so far.
func (e *env) log() []eventstore.RecordedEvent {
	e.t.Helper()
	var committed int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&committed); err != nil {
		e.t.Fatal(err)
	}
	var out []eventstore.RecordedEvent
	var after eventstore.Position
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < committed {
		batch, err := e.store.ReadAll(context.Background(), after, 100)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(batch) == 0 {
			if time.Now().After(deadline) {
				e.t.Fatalf("the log shows %d of %d events", len(out), committed)
			}
			time.Sleep(2 * time.Millisecond)
			continue
		}
		out = append(out, batch...)
		after = batch[len(batch)-1].Position
	}
	return out
}

func (e *env) apply(reg *projections.Registry, name string, events []eventstore.RecordedEvent) {
	e.t.Helper()
	for _, ev := range events {
		if err := reg.Apply(context.Background(), name, ev); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) sums(reg *projections.Registry, name string) map[string]string {
	e.t.Helper()
	s, err := reg.Checksums(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(s) == 0 {
		e.t.Fatalf("%s has no tables", name)
	}
	return s
}

// rows reads a table of a projection's live schema as text, sorted.
func (e *env) rows(name, table string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), fmt.Sprintf(`SELECT t::text FROM %s.%s t ORDER BY 1`,
		pgx.Identifier{projections.SchemaName(name)}.Sanitize(), pgx.Identifier{table}.Sanitize()))
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// applied reads a projection's bookkeeping: stream -> version.
func (e *env) applied(name string) map[string]int64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT stream_id, version FROM `+
		pgx.Identifier{projections.SchemaName(name)}.Sanitize()+`.applied`)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	var s string
	var v int64
	_, err = pgx.ForEachRow(rows, []any{&s, &v}, func() error { out[s] = v; return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// shuffled returns events in a random order that keeps each stream's
// order, as Kafka may deliver them (streams in different partitions).
func shuffled(events []eventstore.RecordedEvent, seed uint64) []eventstore.RecordedEvent {
	byStream := map[string][]eventstore.RecordedEvent{}
	var streams []string
	for _, ev := range events {
		if byStream[ev.StreamID] == nil {
			streams = append(streams, ev.StreamID)
		}
		byStream[ev.StreamID] = append(byStream[ev.StreamID], ev)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]eventstore.RecordedEvent, 0, len(events))
	for len(streams) > 0 {
		i := r.IntN(len(streams))
		s := streams[i]
		out = append(out, byStream[s][0])
		if byStream[s] = byStream[s][1:]; len(byStream[s]) == 0 {
			streams = slices.Delete(streams, i, i+1)
		}
	}
	return out
}

func TestApplyGivesTheSameTablesWhateverTheDelivery(t *testing.T) {
	t.Parallel()
	names := []string{"in_order", "duplicated", "interleaved", "gaps", "reversed_streams"}
	var ps []projections.Projection
	for _, n := range names {
		ps = append(ps, ledger{name: n})
	}
	e := newEnv(t, ps...)
	e.school(7)
	e.school(5)
	log := e.log()

	e.apply(e.reg, "in_order", log)
	want := e.sums(e.reg, "in_order")
	if got := e.rows("in_order", "school_totals"); len(got) != 2 {
		t.Fatalf("school_totals = %v, want 2 schools", got)
	}

	// Every event twice, the second time later, after other events.
	var twice []eventstore.RecordedEvent
	for i, ev := range log {
		twice = append(twice, ev)
		if i >= 3 {
			twice = append(twice, log[i-3])
		}
	}
	twice = append(twice, log...)
	e.apply(e.reg, "duplicated", twice)

	// Streams interleaved differently, several times over (the repeats
	// are duplicates).
	for seed := range uint64(3) {
		e.apply(e.reg, "interleaved", shuffled(log, seed))
	}

	// Only the last event of each stream arrives: the runner fills the
	// gaps from the store.
	last := map[string]eventstore.RecordedEvent{}
	for _, ev := range log {
		last[ev.StreamID] = ev
	}
	e.apply(e.reg, "gaps", slices.Collect(maps.Values(last)))

	// Whole streams one after another, the newest stream first.
	byStream := map[string][]eventstore.RecordedEvent{}
	var order []string
	for _, ev := range log {
		if byStream[ev.StreamID] == nil {
			order = append(order, ev.StreamID)
		}
		byStream[ev.StreamID] = append(byStream[ev.StreamID], ev)
	}
	slices.Reverse(order)
	for _, s := range order {
		e.apply(e.reg, "reversed_streams", byStream[s])
	}

	for _, n := range names[1:] {
		if got := e.sums(e.reg, n); !maps.Equal(got, want) {
			t.Errorf("%s: checksums %v, want %v (as in order)", n, got, want)
		}
		if got, want := e.applied(n), e.applied("in_order"); !maps.Equal(got, want) {
			t.Errorf("%s: applied %v, want %v", n, got, want)
		}
	}
}

// TestApplyConcurrently delivers as Kafka does: a goroutine per
// partition, each with its streams in order, all at once (so the runner
// groups events into shared transactions), plus a consumer that redelivers
// everything; and a projector that fails on one event, which must fail
// alone.
func TestApplyConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "in_order"}, ledger{name: "concurrent"}, ledger{name: "failing", failOn: "Teacher 3"})
	for range 4 {
		e.school(8)
	}
	log := e.log()
	e.apply(e.reg, "in_order", log)
	want := e.sums(e.reg, "in_order")

	const partitions = 6
	deliver := func(name string) map[string]error {
		parts := make([][]eventstore.RecordedEvent, partitions+1)
		for _, ev := range log {
			p := int(crc(ev.StreamID) % partitions)
			parts[p] = append(parts[p], ev)
		}
		parts[partitions] = shuffled(log, 9) // a redelivery of everything
		failed := map[string]error{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, part := range parts {
			wg.Go(func() {
				for _, ev := range part {
					if err := e.reg.Apply(context.Background(), name, ev); err != nil {
						mu.Lock()
						failed[ev.StreamID] = err
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return failed
	}
	if failed := deliver("concurrent"); len(failed) != 0 {
		t.Fatalf("failures: %v", failed)
	}
	if got := e.sums(e.reg, "concurrent"); !maps.Equal(got, want) {
		t.Errorf("concurrent delivery %v, in order %v", got, want)
	}

	// Each school has a Teacher 3: their creation fails, alone; their
	// later events fail too (the stream waits at version 0).
	failed := deliver("failing")
	for stream, err := range failed {
		if !strings.Contains(err.Error(), "no_such_table") {
			t.Errorf("%s: %v", stream, err)
		}
	}
	if len(failed) != 4 {
		t.Errorf("%d streams failed, want the 4 Teacher 3s: %v", len(failed), failed)
	}
	inOrder, got := e.applied("in_order"), e.applied("failing")
	for s, v := range inOrder {
		if _, bad := failed[s]; !bad && got[s] != v {
			t.Errorf("stream %s at %d, want %d", s, got[s], v)
		}
	}
}

func crc(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func TestApplyIgnoresEventsOfOtherChannelsButCountsTheirVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	school, _ := e.school(1)
	log := e.log()
	// A hand-made stream mixing channels: versions 1 and 3 are the
	// ledger's, 2 is not (a class event).
	stream := "mixed-" + uuid.NewString()
	meta := eventstore.Metadata{SchoolID: school, ActorID: "a"}
	data := func(name string) []byte {
		return fmt.Appendf(nil, `{"schoolId":%q,"name":%q,"timezone":"UTC","at":"2026-09-07T08:00:00Z"}`, "s-"+name, name)
	}
	_, err := e.store.Append(context.Background(), stream, eventstore.NoStream(), []eventstore.EventData{
		{ID: uuid.New(), Type: domain.SchoolRegisteredType, Data: data("one"), Metadata: meta},
		{ID: uuid.New(), Type: domain.ClassCreatedType, Data: []byte(`{}`), Metadata: meta},
		{ID: uuid.New(), Type: domain.SchoolRegisteredType, Data: data("three"), Metadata: meta},
	})
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := e.store.ReadStream(context.Background(), stream, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.apply(e.reg, "ledger", log)
	// Kafka delivers only the ledger's channels: versions 1 and 3.
	e.apply(e.reg, "ledger", []eventstore.RecordedEvent{mixed[0], mixed[2]})
	if got := e.applied("ledger")[stream]; got != 3 {
		t.Errorf("applied version of the mixed stream = %d, want 3", got)
	}
	if got := e.rows("ledger", "schools"); len(got) != 3 {
		t.Errorf("schools = %v, want the test school and two from the mixed stream", got)
	}
	live := e.sums(e.reg, "ledger")
	if _, err := e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sums(e.reg, "ledger"); !maps.Equal(got, live) {
		t.Errorf("after rebuild %v, live %v", got, live)
	}
}

// schoolsLedger is the ledger following only the schools' streams.
type schoolsLedger struct{ ledger }

func (schoolsLedger) StreamCategories() []string { return []string{"school"} }

// TestStreamFollowerSkipsOtherStreams: a projection that follows some
// stream categories neither applies nor records the events of other
// streams of its channels, live or rebuilt; a read-your-writes wait on
// such a stream is met at once, and they are not lag.
func TestStreamFollowerSkipsOtherStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, schoolsLedger{ledger{name: "ledger"}})
	_, results := e.school(2)
	log := e.log()
	e.apply(e.reg, "ledger", log)

	applied := e.applied("ledger")
	if len(applied) != 1 || applied[results[0].Stream] != int64(results[0].Version) {
		t.Errorf("applied = %v, want only the school's stream %s", applied, results[0].Stream)
	}
	if got := e.rows("ledger", "schools"); len(got) != 1 {
		t.Errorf("schools = %v, want the one school", got)
	}
	if got := e.rows("ledger", "teachers"); len(got) != 0 {
		t.Errorf("teachers = %v, want none: their streams are not followed", got)
	}

	teacher := results[1]
	if err := e.reg.WaitApplied(context.Background(), []string{"ledger"},
		[]projections.StreamVersion{{Stream: teacher.Stream, Version: teacher.Version}}, 0); err != nil {
		t.Errorf("wait on a stream not followed: %v", err)
	}
	st, err := e.reg.StatusOf(context.Background(), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if st.Lag != 0 || !slices.Equal(st.StreamCategories, []string{"school"}) {
		t.Errorf("status: lag %d, stream categories %v; want 0 (the teachers' events are not the projection's) and [school]",
			st.Lag, st.StreamCategories)
	}

	live := e.sums(e.reg, "ledger")
	if _, err := e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sums(e.reg, "ledger"); !maps.Equal(got, live) {
		t.Errorf("after rebuild %v, live %v", got, live)
	}
	if got := e.applied("ledger"); !maps.Equal(got, applied) {
		t.Errorf("applied after rebuild = %v, live %v", got, applied)
	}
}

func TestApplyRejectsWhatCanNeverApply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	ctx := context.Background()
	if err := e.reg.Apply(ctx, "nope", eventstore.RecordedEvent{StreamID: "s", Version: 1}); !errors.Is(err, projections.ErrUnknownProjection) {
		t.Errorf("unknown projection: %v", err)
	}
	if err := e.reg.Apply(ctx, "ledger", eventstore.RecordedEvent{Type: domain.SchoolRegisteredType}); !errors.Is(err, projections.ErrInvalidEvent) {
		t.Errorf("no stream: %v", err)
	}
	// A version the store does not have yet cannot be gap-filled: a
	// retryable error, and nothing is applied.
	school, _ := e.school(0)
	log := e.log()
	ahead := log[0]
	ahead.Version = 5
	err := e.reg.Apply(ctx, "ledger", ahead)
	if err == nil || !strings.Contains(err.Error(), "only up to version 1") {
		t.Errorf("gap beyond the store: %v", err)
	}
	if got := e.applied("ledger"); len(got) != 0 {
		t.Errorf("applied after a failed apply: %v (school %s)", got, school)
	}
}

func TestProjectorErrorsNameTheEventAndRollBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger", failOn: "Teacher 2"})
	e.school(4)
	log := e.log()
	var failed error
	for _, ev := range log {
		if err := e.reg.Apply(context.Background(), "ledger", ev); err != nil && failed == nil {
			failed = err
		}
	}
	if failed == nil || !strings.Contains(failed.Error(), "no_such_table") || !strings.Contains(failed.Error(), domain.TeacherCreatedType) {
		t.Fatalf("error = %v, want the failed statement and the event", failed)
	}
	// The failing teacher's stream stays at version 0; the others went on.
	rows := e.rows("ledger", "teachers")
	if len(rows) != 3 {
		t.Errorf("teachers = %v, want 3 of 4", rows)
	}
	// A rebuild fails the same way and keeps the live tables.
	before := e.sums(e.reg, "ledger")
	_, err := e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "old tables stay") {
		t.Fatalf("rebuild error = %v", err)
	}
	if got := e.sums(e.reg, "ledger"); !maps.Equal(got, before) {
		t.Errorf("tables changed by a failed rebuild")
	}
	var leftovers int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rm\_ledger\_\_%'`).Scan(&leftovers); err != nil {
		t.Fatal(err)
	}
	if leftovers != 0 {
		t.Errorf("%d schemas left behind by the failed rebuild", leftovers)
	}
}

// firstTeacherOnly admits one teacher per school, and says so only at
// commit: its constraint is deferred, so the failure comes from the
// commit the runner sends with the last statements.
type firstTeacherOnly struct{}

func (firstTeacherOnly) Name() string               { return "first_teacher" }
func (firstTeacherOnly) Channels() []domain.Channel { return []domain.Channel{domain.ChannelTeacher} }
func (firstTeacherOnly) Schema() string {
	return `CREATE TABLE IF NOT EXISTS firsts (
    school_id text NOT NULL, teacher_id text NOT NULL,
    CONSTRAINT firsts_one_per_school UNIQUE (school_id) DEFERRABLE INITIALLY DEFERRED)`
}

func (firstTeacherOnly) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type != domain.TeacherCreatedType {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO firsts VALUES ($1, $2)`, e.Metadata.SchoolID, e.StreamID)
	return err
}

func TestAFailedCommitAppliesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, firstTeacherOnly{})
	e.school(2)
	var teachers []eventstore.RecordedEvent
	for _, ev := range e.log() {
		if ev.Type == domain.TeacherCreatedType {
			teachers = append(teachers, ev)
		}
	}
	if len(teachers) != 2 {
		t.Fatalf("%d teachers created, want 2", len(teachers))
	}
	ctx := context.Background()
	if err := e.reg.Apply(ctx, "first_teacher", teachers[0]); err != nil {
		t.Fatal(err)
	}
	err := e.reg.Apply(ctx, "first_teacher", teachers[1])
	if err == nil || !strings.Contains(err.Error(), "firsts_one_per_school") || !strings.Contains(err.Error(), "commit") {
		t.Fatalf("error = %v, want the commit's violation of firsts_one_per_school", err)
	}
	if got := e.rows("first_teacher", "firsts"); len(got) != 1 || !strings.Contains(got[0], teachers[0].StreamID) {
		t.Errorf("firsts = %v, want the first teacher alone", got)
	}
	applied := e.applied("first_teacher")
	if applied[teachers[0].StreamID] != 1 || applied[teachers[1].StreamID] != 0 {
		t.Errorf("applied = %v, want the first teacher at 1 and the second at 0", applied)
	}
	// The connections are left outside any transaction: what comes next
	// applies, the second teacher again once the first's row is gone.
	if _, err := e.pool.Exec(ctx, `DELETE FROM `+projections.SchemaName("first_teacher")+`.firsts`); err != nil {
		t.Fatal(err)
	}
	for range 4 { // more than the pool's idle connections a failure could have spoilt
		if err := e.reg.Apply(ctx, "first_teacher", teachers[1]); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.applied("first_teacher")[teachers[1].StreamID]; got != 1 {
		t.Errorf("the second teacher is at version %d after the retry, want 1", got)
	}
}

func TestRebuildEqualsLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"}, ledger{name: "second"})
	e.school(6)
	e.school(3)
	log := e.log()
	for _, n := range []string{"ledger", "second"} {
		e.apply(e.reg, n, shuffled(log, 42))
	}
	live := map[string]map[string]string{"ledger": e.sums(e.reg, "ledger"), "second": e.sums(e.reg, "second")}
	liveApplied := e.applied("ledger")
	liveIndexes := e.indexes("ledger")

	var progress []projections.Progress
	var mu sync.Mutex
	stats, err := e.reg.Rebuild(context.Background(), []string{"ledger", "second"}, projections.RebuildOptions{
		ProgressEvery: time.Millisecond,
		Progress:      func(p projections.Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != int64(len(log)) || stats.Applied != 2*int64(len(log)) || stats.Statements == 0 {
		t.Errorf("stats = %+v, want %d events applied to each of 2 projections", stats, len(log))
	}
	for n, want := range live {
		if got := e.sums(e.reg, n); !maps.Equal(got, want) {
			t.Errorf("%s: rebuilt %v, live %v", n, got, want)
		}
	}
	if got := e.applied("ledger"); !maps.Equal(got, liveApplied) {
		t.Errorf("applied after rebuild %v, live %v", got, liveApplied)
	}
	// The copy's secondary indexes, dropped for the replay, are back.
	if got := e.indexes("ledger"); !slices.Equal(got, liveIndexes) || !slices.ContainsFunc(got, func(d string) bool {
		return strings.Contains(d, "teachers_school_idx")
	}) {
		t.Errorf("indexes after rebuild:\n%s\nbefore:\n%s", strings.Join(got, "\n"), strings.Join(liveIndexes, "\n"))
	}
	if last := progress[len(progress)-1]; last.Phase != projections.PhaseDone || last.Events != int64(len(log)) {
		t.Errorf("last progress = %+v", last)
	}
	st, err := e.reg.StatusOf(context.Background(), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != projections.StateLive || st.Lag != 0 || st.Position == 0 || st.BuiltAt == nil || st.Rebuild != nil {
		t.Errorf("status = %+v", st)
	}
	// Live applies go on after the swap: new events, and redeliveries of
	// old ones (no-ops).
	e.school(2)
	e.apply(e.reg, "ledger", e.log())
	if got := len(e.rows("ledger", "schools")); got != 3 {
		t.Errorf("%d schools after the swap, want 3", got)
	}
}

// leakyLog is a store whose log leaves out the events of drop and repeats
// others: a store that broke its promise.
type leakyLog struct {
	eventstore.Store
	drop map[eventstore.Position]bool
}

func (l leakyLog) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for {
		batch, err := l.Store.ReadAll(ctx, after, limit)
		if err != nil {
			return nil, err
		}
		for i, ev := range batch {
			switch {
			case l.drop[ev.Position] && i < len(batch)-1: // the last one says where the next read starts
			case ev.Position%5 == 0:
				out = append(out, ev, ev) // repeated
			default:
				out = append(out, ev)
			}
		}
		// A short batch means the end of the log: fill it up.
		if len(batch) < limit || len(out) >= limit {
			return out, nil
		}
		after = batch[len(batch)-1].Position
	}
}

// A rebuild over a log with gaps and repeats fills the gaps from the
// streams and skips the repeats: the tables equal live applies of the
// whole log.
func TestRebuildFillsGapsAndSkipsRepeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	e.school(6)
	e.school(4)
	log := e.log()
	e.apply(e.reg, "ledger", log)
	live, liveApplied := e.sums(e.reg, "ledger"), e.applied("ledger")

	// Every other event that a later event of its stream follows: that
	// one reveals the gap.
	last := map[string]eventstore.Version{}
	for _, ev := range log {
		last[ev.StreamID] = ev.Version
	}
	drop := map[eventstore.Position]bool{}
	for i, ev := range log {
		if ev.Version < last[ev.StreamID] && i%2 == 0 {
			drop[ev.Position] = true
		}
	}
	if len(drop) == 0 {
		t.Fatal("no event to leave out")
	}
	reg, err := projections.NewRegistry(projections.Config{DB: e.pool, Store: leakyLog{e.store, drop}, RebuildBatch: 4}, ledger{name: "ledger"})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sums(reg, "ledger"); !maps.Equal(got, live) {
		t.Errorf("rebuilt %v, live %v", got, live)
	}
	if got := e.applied("ledger"); !maps.Equal(got, liveApplied) {
		t.Errorf("applied after rebuild %v, live %v", got, liveApplied)
	}
	if stats.Applied != int64(len(log)) {
		t.Errorf("%d events applied, want each of the %d once", stats.Applied, len(log))
	}
}

// TestRebuildUnderLoad: commands keep coming and a live consumer (the
// store's subscription standing in for Kafka) keeps applying them while
// the projection is rebuilt; afterwards the tables equal a fresh rebuild's.
func TestRebuildUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	for range 3 {
		e.school(5)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	live := make(chan error, 1)
	wg.Go(func() {
		err := e.store.SubscribeAll(ctx, 0, func(ctx context.Context, ev eventstore.RecordedEvent) error {
			return e.reg.Apply(ctx, "ledger", ev)
		})
		if !errors.Is(err, context.Canceled) {
			live <- err
		}
	})
	stopLoad := make(chan struct{})
	var loaded []commands.Result
	var loadErr error
	var load sync.WaitGroup
	load.Go(func() {
		for {
			select {
			case <-stopLoad:
				return
			default:
			}
			_, res, err := e.trySchool(2)
			if err != nil {
				loadErr = err
				return
			}
			loaded = append(loaded, res...)
		}
	})

	for range 2 {
		if _, err := e.reg.Rebuild(ctx, []string{"ledger"}, projections.RebuildOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	close(stopLoad)
	load.Wait()
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	// Every command's effect is applied: wait for the last ones.
	var tokens []projections.StreamVersion
	for _, r := range loaded {
		tokens = append(tokens, projections.StreamVersion{Stream: r.Stream, Version: r.Version})
	}
	if len(tokens) == 0 {
		t.Fatal("no load ran during the rebuilds")
	}
	if err := e.reg.WaitApplied(ctx, []string{"ledger"}, tokens, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	head, err := e.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		st, err := e.reg.StatusOf(ctx, "ledger")
		return err == nil && st.Lag == 0 && st.Position >= head
	})
	cancel()
	wg.Wait()
	select {
	case err := <-live:
		t.Fatalf("live consumer: %v", err)
	default:
	}
	afterLoad := e.sums(e.reg, "ledger")
	if _, err := e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if fresh := e.sums(e.reg, "ledger"); !maps.Equal(afterLoad, fresh) {
		t.Errorf("after the load %v, a fresh rebuild %v", afterLoad, fresh)
	}
	t.Logf("%d commands during the rebuilds", len(loaded))
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRebuildRefusesToRunTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	conn, err := e.pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// What another rebuild holds: the session lock (see runner.go).
	if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_lock(1886547812, hashtext('ledger'))`); err != nil {
		t.Fatal(err)
	}
	st, err := e.reg.StatusOf(context.Background(), "ledger")
	if err != nil || st.State != projections.StateRebuilding {
		t.Errorf("status while another rebuild runs = %+v, %v", st, err)
	}
	_, err = e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{})
	if !errors.Is(err, projections.ErrRebuildRunning) {
		t.Errorf("second rebuild: %v, want ErrRebuildRunning", err)
	}
	if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(1886547812, hashtext('ledger'))`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Rebuild(context.Background(), []string{"ledger"}, projections.RebuildOptions{}); err != nil {
		t.Errorf("rebuild after the other ended: %v", err)
	}
}

func TestSetupBuildsNewAndChangedProjections(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no projections yet
	e.school(4)
	log := e.log()

	// A projection added to a service with history is built at start.
	reg := e.registry(ledger{name: "ledger"})
	st, err := reg.StatusOf(context.Background(), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != projections.StateLive || st.Lag != 0 || st.Streams != 5 {
		t.Fatalf("after setup: %+v", st)
	}
	built := e.sums(reg, "ledger")

	// Same version: nothing rebuilt (the tables keep a change made by hand).
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM rm_ledger.schools`); err != nil {
		t.Fatal(err)
	}
	e.registry(ledger{name: "ledger"})
	if rows := e.rows("ledger", "schools"); len(rows) != 0 {
		t.Errorf("setup rebuilt a current projection")
	}

	// A new SchemaVersion: rebuilt at start.
	reg = e.registry(ledger{name: "ledger", version: 2})
	if got := e.sums(reg, "ledger"); !maps.Equal(got, built) {
		t.Errorf("after a version bump %v, want %v", got, built)
	}
	st, _ = reg.StatusOf(context.Background(), "ledger")
	if st.BuiltVersion != 2 || st.State != projections.StateLive {
		t.Errorf("status = %+v", st)
	}
	// Status of a version the tables were not built with.
	other, err := projections.NewRegistry(projections.Config{DB: e.pool, Store: e.store}, ledger{name: "ledger", version: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := other.StatusOf(context.Background(), "ledger"); st.State != projections.StateOutdated {
		t.Errorf("state with another version = %s", st.State)
	}
	_ = log
}

func TestNewRegistryValidates(t *testing.T) {
	t.Parallel()
	_, err := projections.NewRegistry(projections.Config{}, ledger{name: "Bad-Name"}, ledger{name: "a__b"}, ledger{name: "ok"}, ledger{name: "ok"}, nil,
		followsNothing{ledger{name: "lost"}}, followsBadly{ledger{name: "dashed"}})
	for _, want := range []string{"Config.DB", "Config.Store", `"Bad-Name"`, `"a__b"`, `"ok" registered twice`, "projection 4 is nil",
		"lost follows no stream category", `dashed: stream category "school-1"`, `dashed: stream category ""`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

type followsNothing struct{ ledger }

func (followsNothing) StreamCategories() []string { return nil }

type followsBadly struct{ ledger }

func (followsBadly) StreamCategories() []string { return []string{"school-1", ""} }

func TestWaitApplied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "ledger"})
	ctx := context.Background()
	_, results := e.school(2)
	log := e.log()
	created := results[1] // the first teacher's creation
	token := projections.StreamVersion{Stream: created.Stream, Version: created.Version}

	// Not applied yet: ErrNotYet after the timeout.
	start := time.Now()
	err := e.reg.WaitApplied(ctx, []string{"ledger"}, []projections.StreamVersion{token}, 30*time.Millisecond)
	if !errors.Is(err, projections.ErrNotYet) {
		t.Fatalf("before applying: %v, want ErrNotYet", err)
	}
	if took := time.Since(start); took < 30*time.Millisecond || took > 5*time.Second {
		t.Errorf("timed out after %s", took)
	}

	// Applied while waiting: success.
	done := make(chan error, 1)
	go func() {
		done <- e.reg.WaitApplied(ctx, []string{"ledger"}, []projections.StreamVersion{token}, 10*time.Second)
	}()
	time.Sleep(20 * time.Millisecond)
	e.apply(e.reg, "ledger", log)
	if err := <-done; err != nil {
		t.Fatalf("after applying: %v", err)
	}

	cases := map[string]struct {
		names  []string
		tokens []projections.StreamVersion
		check  func(error) bool
	}{
		"no tokens":          {[]string{"ledger"}, nil, func(err error) bool { return err == nil }},
		"applied":            {[]string{"ledger"}, []projections.StreamVersion{token}, func(err error) bool { return err == nil }},
		"unknown projection": {[]string{"nope"}, []projections.StreamVersion{token}, func(err error) bool { return errors.Is(err, projections.ErrUnknownProjection) }},
		"bad token":          {[]string{"ledger"}, []projections.StreamVersion{{Stream: "x"}}, func(err error) bool { return err != nil && !errors.Is(err, projections.ErrNotYet) }},
		"beyond the stream":  {[]string{"ledger"}, []projections.StreamVersion{{Stream: token.Stream, Version: 99}}, func(err error) bool { return err == nil }},
		"unknown stream":     {[]string{"ledger"}, []projections.StreamVersion{{Stream: "teacher-none", Version: 1}}, func(err error) bool { return err == nil }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := e.reg.WaitApplied(ctx, c.names, c.tokens, 20*time.Millisecond); !c.check(err) {
				t.Errorf("WaitApplied = %v", err)
			}
		})
	}

	// A stream with an event the projection does not consume: nothing
	// to wait for at that version.
	meta := eventstore.Metadata{SchoolID: "s", ActorID: "a"}
	other := "mixed-" + uuid.NewString()
	if _, err := e.store.Append(ctx, other, eventstore.NoStream(), []eventstore.EventData{
		{ID: uuid.New(), Type: domain.ClassCreatedType, Data: []byte(`{}`), Metadata: meta},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.WaitApplied(ctx, []string{"ledger"}, []projections.StreamVersion{{Stream: other, Version: 1}}, 0); err != nil {
		t.Errorf("other channel: %v", err)
	}

	// The caller's context ends the wait with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	late := projections.StreamVersion{Stream: token.Stream, Version: token.Version}
	if _, err := e.store.Append(ctx, token.Stream, eventstore.Any(), []eventstore.EventData{{ID: uuid.New(), Type: domain.TeacherDeactivatedType,
		Data: []byte(`{"teacherId":"x","schoolId":"s","reason":"r","at":"2026-09-07T08:00:00Z"}`), Metadata: meta}}); err != nil {
		t.Fatal(err)
	}
	late.Version++
	if err := e.reg.WaitApplied(cctx, []string{"ledger"}, []projections.StreamVersion{late}, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseStreamVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]projections.StreamVersion{
		"teacher-1b4e:3":  {Stream: "teacher-1b4e", Version: 3},
		"odd:name:12":     {Stream: "odd:name", Version: 12},
		"performance-x:1": {Stream: "performance-x", Version: 1},
	} {
		got, err := projections.ParseStreamVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseStreamVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, bad := range []string{"", "teacher", ":3", "teacher-1:", "teacher-1:0", "teacher-1:-2", "teacher-1:x"} {
		if _, err := projections.ParseStreamVersion(bad); err == nil {
			t.Errorf("ParseStreamVersion(%q) succeeded", bad)
		}
	}
}

// TestReadModelsRebuildUnderLoad: the real read models, fed live (the
// store's subscription standing in for Kafka, every projection's events
// applied concurrently) while schools are being built through the
// commands and every read model is rebuilt twice. Afterwards they equal a
// fresh rebuild.
func TestReadModelsRebuildUnderLoad(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := newRegistry(t, w.pool, w.store)
	w.buildSchool("hillside")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var live sync.WaitGroup
	liveErr := make(chan error, len(reg.Names()))
	for _, p := range reg.Projections() {
		live.Go(func() {
			err := w.store.SubscribeAll(ctx, 0, func(ctx context.Context, ev eventstore.RecordedEvent) error {
				if !consumes(p, ev) {
					return nil
				}
				return reg.Apply(ctx, p.Name(), ev)
			})
			if !errors.Is(err, context.Canceled) {
				liveErr <- fmt.Errorf("%s: %w", p.Name(), err)
			}
		})
	}
	rebuilt := make(chan error, 1)
	go func() {
		var errs []error
		for range 2 {
			_, err := reg.Rebuild(ctx, reg.Names(), projections.RebuildOptions{})
			errs = append(errs, err)
		}
		rebuilt <- errors.Join(errs...)
	}()
	w.buildSchool("riverside") // the load, meanwhile
	w.buildSchool("lakeside")
	if err := <-rebuilt; err != nil {
		t.Fatal(err)
	}

	// Wait for the live consumers to apply every stream to its end.
	events := readAll(t, w.pool, w.store)
	last := map[string]uint64{}
	for _, ev := range events {
		last[ev.StreamID] = ev.Version
	}
	var tokens []projections.StreamVersion
	for s, v := range last {
		tokens = append(tokens, projections.StreamVersion{Stream: s, Version: v})
	}
	if err := reg.WaitApplied(ctx, reg.Names(), tokens, time.Minute); err != nil {
		t.Fatal(err)
	}
	cancel()
	live.Wait()
	close(liveErr)
	for err := range liveErr {
		t.Error(err)
	}
	afterLoad := registrySums(t, reg)
	if _, err := reg.Rebuild(context.Background(), reg.Names(), projections.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := diffSums(afterLoad, registrySums(t, reg)); d != "" {
		t.Errorf("after the load vs a fresh rebuild:\n%s", d)
	}
}
