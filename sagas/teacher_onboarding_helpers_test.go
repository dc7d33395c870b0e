package sagas_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/sagas/sagatest"
)

// Helpers of the teacher_onboarding and student_enrollment_complete tests
// (engineer W1): a school on a PostgreSQL event store, a runtime of the
// two workflows on the same database, and a pump that hands the runtime
// every stored event, in store order, as the Kafka consumers would.

// w1Env is one test's world.
type w1Env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	store    *postgres.Store
	clock    *sagatest.Clock
	repo     *commands.Repository
	dir      *w1Directory
	notifier *w1Notifier
	settings sagas.Settings
	school   string
	rt       *sagas.Runtime
	// wrap, when set, wraps each saga given to a new runtime (to inject
	// failures).
	wrap    func(sagas.Saga) sagas.Saga
	after   eventstore.Position // the pump's position in the log
	skipped eventstore.Position // where skip moved it
}

func w1NewEnv(t *testing.T) *w1Env {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)
	clock := sagatest.NewClock(sagatest.Start)
	repo := commands.NewRepository(store, clock.Now)
	env := &w1Env{
		t: t, pool: pool, store: store, clock: clock, repo: repo,
		dir:      &w1Directory{repo: repo, classes: map[string][]string{}},
		notifier: &w1Notifier{inner: sagas.NewInboxNotifier(repo)},
		settings: sagas.DefaultSettings(),
		school:   uuid.NewString(),
	}
	_, err := commands.NewRegisterSchoolHandler(repo).Handle(t.Context(),
		commands.Meta{Actor: commands.Actor{ID: "platform", Roles: []commands.Role{commands.RolePlatformAdmin}}},
		commands.RegisterSchool{SchoolID: env.school, Name: "Hillside", Timezone: "Europe/Berlin"})
	if err != nil {
		t.Fatalf("register school: %v", err)
	}
	return env
}

// start starts a (new) runtime of both workflows: calling it again is a
// restart of the service between two steps.
func (env *w1Env) start() {
	env.t.Helper()
	deps := sagas.Deps{Repo: env.repo, Notifier: env.notifier, Directory: env.dir, Settings: env.settings}
	ss := []sagas.Saga{sagas.NewTeacherOnboarding(deps), sagas.NewStudentEnrollment(deps)}
	if env.wrap != nil {
		for i := range ss {
			ss[i] = env.wrap(ss[i])
		}
	}
	rt, err := sagas.NewRuntime(sagas.Config{Pool: env.pool, Clock: env.clock}, ss...)
	if err != nil {
		env.t.Fatal(err)
	}
	env.rt = rt
}

func (env *w1Env) admin() commands.Meta {
	return commands.Meta{SchoolID: env.school,
		Actor: commands.Actor{ID: "admin-1", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: env.school}}
}

// visible waits until the store's log shows every committed event: it
// holds back the events of transactions newer than the oldest one still
// running anywhere on the server (other tests' included), so that no
// reader skips one.
func (env *w1Env) visible() {
	env.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var shown, all int
		err := env.pool.QueryRow(env.t.Context(), `SELECT
			count(*) FILTER (WHERE tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))), count(*) FROM events`).Scan(&shown, &all)
		if err != nil {
			env.t.Fatal(err)
		}
		if shown == all {
			return
		}
		if time.Now().After(deadline) {
			env.t.Fatalf("the log shows %d of %d events after 20s", shown, all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pump hands every event stored since the last pump to each saga of the
// runtime that consumes its channel, times times each (2: every event
// delivered twice), until no new event appears. It stops at the first
// error, which it returns.
func (env *w1Env) pump(times int) error {
	ctx := env.t.Context()
	for {
		env.visible()
		recs, err := env.store.ReadAll(ctx, env.after, 0)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for _, e := range recs {
			ch, _ := domain.ChannelOf(e.Type)
			for range times {
				for _, s := range env.rt.Sagas() {
					if !slices.Contains(s.Channels(), ch) {
						continue
					}
					if err := env.rt.Handle(ctx, s.Name(), e); err != nil {
						return err
					}
				}
			}
			env.after = e.Position
		}
	}
}

func (env *w1Env) mustPump(times int) {
	env.t.Helper()
	if err := env.pump(times); err != nil {
		env.t.Fatalf("pump: %v", err)
	}
}

// fire fires the due deadlines, then pumps what they caused.
func (env *w1Env) fire() int {
	env.t.Helper()
	n, err := env.rt.FireDue(env.t.Context())
	if err != nil {
		env.t.Fatalf("FireDue: %v", err)
	}
	env.mustPump(1)
	return n
}

func (env *w1Env) workflow(saga, id string) sagas.Workflow {
	env.t.Helper()
	w, err := sagas.GetWorkflow(env.t.Context(), env.pool, sagas.WorkflowID(saga, id))
	if err != nil {
		env.t.Fatalf("workflow %s %s: %v", saga, id, err)
	}
	return w
}

// events lists the stored events of type typ, in log order.
func (env *w1Env) events(typ string) []eventstore.RecordedEvent {
	env.t.Helper()
	env.visible()
	recs, err := env.store.ReadAll(env.t.Context(), 0, 0)
	if err != nil {
		env.t.Fatal(err)
	}
	return slices.DeleteFunc(recs, func(e eventstore.RecordedEvent) bool { return e.Type != typ })
}

// messages decodes the stored message.sent.v1 events.
func (env *w1Env) messages() []domain.MessageSent {
	env.t.Helper()
	var out []domain.MessageSent
	for _, e := range env.events(domain.MessageSentType) {
		var m domain.MessageSent
		if err := json.Unmarshal(e.Data, &m); err != nil {
			env.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// messagesTo are the messages with recipient kind/id.
func (env *w1Env) messagesTo(kind domain.RecipientKind, id string) []domain.MessageSent {
	env.t.Helper()
	return slices.DeleteFunc(env.messages(), func(m domain.MessageSent) bool {
		return !slices.Contains(m.Recipients, domain.Recipient{Kind: kind, ID: id})
	})
}

// teacher creates a teacher and returns their ID.
func (env *w1Env) teacher(name string, maxPerDay int, prefs []string, subjects ...string) string {
	env.t.Helper()
	res, err := commands.NewCreateTeacherHandler(env.repo).Handle(env.t.Context(), env.admin(), commands.CreateTeacher{
		Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@hillside.example",
		Subjects: subjects, Preferences: domain.PreferencesInput{PreferredTimeSlots: prefs, MaxClassesPerDay: maxPerDay},
	})
	if err != nil {
		env.t.Fatalf("teacher %s: %v", name, err)
	}
	return res.ID
}

// class opens a class (listed by the directory) and returns its ID.
func (env *w1Env) class(name string, grade, capacity int, subjects ...domain.ClassSubjectInput) string {
	env.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewCreateClassHandler(env.repo).Handle(env.t.Context(), env.admin(), commands.CreateClass{
		ClassID: id, Name: name, GradeLevel: grade, Capacity: capacity, Subjects: subjects})
	if err != nil {
		env.t.Fatalf("class %s: %v", name, err)
	}
	env.dir.add(env.school, id)
	return id
}

// student enrolls a student with guardians (e-mail addresses) and returns
// their ID.
func (env *w1Env) student(name string, grade int, guardians ...string) string {
	env.t.Helper()
	id := uuid.NewString()
	var gs []commands.EnrollStudentGuardian
	for _, g := range guardians {
		gs = append(gs, commands.EnrollStudentGuardian{Name: "Guardian " + g, Email: g, Relationship: "parent"})
	}
	_, err := commands.NewEnrollStudentHandler(env.repo).Handle(env.t.Context(), env.admin(), commands.EnrollStudent{
		StudentID: id, Name: name, DateOfBirth: "2015-03-04", GradeLevel: grade, Guardians: gs})
	if err != nil {
		env.t.Fatalf("student %s: %v", name, err)
	}
	return id
}

// place puts a student in a class, as an administrator.
func (env *w1Env) place(studentID, classID string) {
	env.t.Helper()
	_, err := commands.NewAssignStudentToClassHandler(env.repo).Handle(env.t.Context(), env.admin(),
		commands.AssignStudentToClass{StudentID: studentID, ClassID: classID})
	if err != nil {
		env.t.Fatalf("place %s in %s: %v", studentID, classID, err)
	}
}

func (env *w1Env) loadClass(id string) *domain.Class {
	env.t.Helper()
	c, _, err := commands.Load(env.t.Context(), env.repo, domain.NewClass(id))
	if err != nil {
		env.t.Fatal(err)
	}
	return c
}

func (env *w1Env) loadTimetable() *domain.Timetable {
	env.t.Helper()
	tt, _, err := commands.Load(env.t.Context(), env.repo, domain.NewTimetable(env.school))
	if err != nil {
		env.t.Fatal(err)
	}
	return tt
}

// w1Directory is a sagas.Directory over the store: the classes the test
// opened, as the store has them.
type w1Directory struct {
	repo    *commands.Repository
	mu      sync.Mutex
	classes map[string][]string // school -> class IDs
	fail    error               // returned by Classes when set
}

func (d *w1Directory) add(school, class string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.classes[school] = append(d.classes[school], class)
}

func (d *w1Directory) Schools(context.Context) ([]sagas.SchoolSummary, error) { return nil, nil }

func (d *w1Directory) Classes(ctx context.Context, school string) ([]sagas.ClassSummary, error) {
	d.mu.Lock()
	ids, fail := slices.Clone(d.classes[school]), d.fail
	d.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	out := make([]sagas.ClassSummary, 0, len(ids))
	for _, id := range ids {
		c, _, err := commands.Load(ctx, d.repo, domain.NewClass(id))
		if err != nil {
			return nil, err
		}
		out = append(out, sagas.ClassSummary{ID: id, Name: c.Name(), GradeLevel: int(c.GradeLevel()),
			Capacity: c.Capacity(), Size: len(c.Roster())})
	}
	return out, nil
}

func (d *w1Directory) Attendance(context.Context, string, string, domain.Date, domain.Date) (sagas.AttendanceSummary, error) {
	return sagas.AttendanceSummary{}, nil
}

func (d *w1Directory) GuardianMeetings(context.Context, string, string, domain.Date, domain.Date) ([]domain.MeetingSlot, error) {
	return nil, nil
}

// w1Notifier is the inbox notifier with injectable failures: failOnce
// makes the next notification whose subject contains the key fail with
// the error (a transient one, or a domain error: refused for good).
type w1Notifier struct {
	inner sagas.Notifier
	mu    sync.Mutex
	fail  map[string]error
	calls int
}

func (n *w1Notifier) failOnce(subjectPart string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail == nil {
		n.fail = map[string]error{}
	}
	n.fail[subjectPart] = err
}

func (n *w1Notifier) Notify(ctx context.Context, m commands.Meta, msg sagas.Notification) (commands.Result, error) {
	n.mu.Lock()
	n.calls++
	for part, err := range n.fail {
		if strings.Contains(msg.Subject, part) {
			delete(n.fail, part)
			n.mu.Unlock()
			return commands.Result{}, err
		}
	}
	n.mu.Unlock()
	return n.inner.Notify(ctx, m, msg)
}

// w1CrashAfter wraps a saga so that its first handling of an event of
// type typ does all its work (commands included) and then fails with a
// transient error, as a process dying before the runtime's commit would.
type w1CrashAfter struct {
	sagas.Saga
	typ     string
	mu      sync.Mutex
	crashed bool
}

var errW1Crash = errors.New("w1: simulated crash before the commit")

func (c *w1CrashAfter) Handle(ctx context.Context, in *sagas.Instance, t sagas.Trigger) error {
	if err := c.Saga.Handle(ctx, in, t); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Type == c.typ && !c.crashed {
		c.crashed = true
		return errW1Crash
	}
	return nil
}

// w1Steps lists a workflow's step names.
func w1Steps(w sagas.Workflow) []string {
	out := make([]string, len(w.Steps))
	for i, s := range w.Steps {
		out[i] = s.Step
	}
	return out
}

// w1Step returns the reasons of the steps named step.
func w1Step(w sagas.Workflow, step string) []string {
	var out []string
	for _, s := range w.Steps {
		if s.Step == step {
			out = append(out, s.Reason)
		}
	}
	return out
}

// w1Comparable is a workflow's status without times, to compare runs.
func w1Comparable(w sagas.Workflow) string {
	var b strings.Builder
	b.WriteString(string(w.State) + "|" + w.Step + "|" + w.Reason + "|" + string(w.Data))
	for _, s := range w.Steps {
		b.WriteString("\n" + s.Step + ": " + s.Reason + " " + s.Command + " " + s.Stream)
	}
	return b.String()
}

// w1Describe prints a workflow for a failure message.
func w1Describe(w sagas.Workflow) string {
	var b strings.Builder
	b.WriteString(string(w.State) + " at " + w.Step + ": " + w.Reason)
	for _, s := range w.Steps {
		b.WriteString("\n  " + s.Step + " [" + s.Trigger + "] " + s.Reason)
	}
	for _, d := range w.Deadlines {
		b.WriteString("\n  deadline " + d.Name + " " + string(d.State) + " " + d.DueAt.String())
	}
	b.WriteString("\n  data " + string(w.Data))
	return b.String()
}
