package sagas_test

import (
	"context"
	"errors"
	"fmt"
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

// Helpers of the student_performance and ai_intervention_workflow tests
// (W2): a school with a class, two teachers and a student with two
// guardians on a PostgreSQL event store; the two workflows on a Runtime
// over the same database; a pump that hands the stored events to the
// runtime in store order (as the Kafka routers would, each saga seeing
// the channels it consumes).

type w2Fixture struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *postgres.Store
	clock *sagatest.Clock
	repo  *commands.Repository
	dir   *w2Directory
	note  *w2Notifier
	deps  sagas.Deps
	rt    *sagas.Runtime

	pumped    eventstore.Position
	delivered int  // events pumped
	twice     bool // deliver every event twice

	school, mathTeacher, englishTeacher, class, student string
	guardians                                           []string
}

const w2Admin = "admin-1"

func w2NewFixture(t *testing.T) *w2Fixture {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)
	clock := sagatest.NewClock(sagatest.Start)
	repo := commands.NewRepository(store, clock.Now)
	f := &w2Fixture{t: t, ctx: ctx, pool: pool, store: store, clock: clock, repo: repo, dir: &w2Directory{}}
	f.note = &w2Notifier{inner: sagas.NewInboxNotifier(repo)}
	f.deps = sagas.Deps{Repo: repo, Notifier: f.note, Directory: f.dir, Settings: sagas.DefaultSettings()}
	f.restart()

	f.school = uuid.NewString()
	f.must(commands.NewRegisterSchoolHandler(repo).Handle(ctx, commands.Meta{Actor: commands.Actor{ID: "platform-1",
		Roles: []commands.Role{commands.RolePlatformAdmin}}}, commands.RegisterSchool{SchoolID: f.school, Name: "Hillside", Timezone: "UTC"}))
	f.mathTeacher = f.teacher("maths@hillside.example", "mathematics", "physics")
	f.englishTeacher = f.teacher("english@hillside.example", "english")
	f.class = f.newClass("5B", []domain.ClassSubjectInput{
		{Subject: "mathematics", TeacherID: f.mathTeacher},
		{Subject: "english", TeacherID: f.englishTeacher},
		{Subject: "physics"},
	})
	f.student = f.enroll("Ada Lovelace", "mum@example.org", "dad@example.org")
	f.assign(f.student, f.class)
	f.guardians = []string{commands.GuardianID(f.school, "mum@example.org"), commands.GuardianID(f.school, "dad@example.org")}
	f.dir.set(f.student, sagas.AttendanceSummary{Present: 20})
	return f
}

// restart replaces the runtime by a new one on the same database, as a
// restarted process would start.
func (f *w2Fixture) restart() {
	f.t.Helper()
	rt, err := sagas.NewRuntime(sagas.Config{Pool: f.pool, Clock: f.clock},
		sagas.NewStudentPerformance(f.deps), sagas.NewInterventionWorkflow(f.deps))
	if err != nil {
		f.t.Fatal(err)
	}
	f.rt = rt
}

func (f *w2Fixture) must(_ commands.Result, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *w2Fixture) as(id string, role commands.Role) commands.Meta {
	return commands.Meta{SchoolID: f.school, Actor: commands.Actor{ID: id, Roles: []commands.Role{role}, SchoolID: f.school}}
}

func (f *w2Fixture) admin() commands.Meta { return f.as(w2Admin, commands.RoleSchoolAdmin) }

func (f *w2Fixture) teacher(email string, subjects ...string) string {
	f.t.Helper()
	res, err := commands.NewCreateTeacherHandler(f.repo).Handle(f.ctx, f.admin(), commands.CreateTeacher{
		Name: "Teacher " + email, Email: email, Subjects: subjects, Preferences: domain.PreferencesInput{MaxClassesPerDay: 6},
	})
	if err != nil {
		f.t.Fatalf("teacher %s: %v", email, err)
	}
	return res.ID
}

func (f *w2Fixture) newClass(name string, subjects []domain.ClassSubjectInput) string {
	f.t.Helper()
	id := uuid.NewString()
	f.must(commands.NewCreateClassHandler(f.repo).Handle(f.ctx, f.admin(), commands.CreateClass{
		ClassID: id, Name: name, GradeLevel: 5, Capacity: 30, Subjects: subjects}))
	return id
}

func (f *w2Fixture) enroll(name string, guardianEmails ...string) string {
	f.t.Helper()
	id := uuid.NewString()
	var gs []commands.EnrollStudentGuardian
	for _, e := range guardianEmails {
		gs = append(gs, commands.EnrollStudentGuardian{Name: "Guardian " + e, Email: e, Relationship: "parent"})
	}
	f.must(commands.NewEnrollStudentHandler(f.repo).Handle(f.ctx, f.admin(), commands.EnrollStudent{
		StudentID: id, Name: name, DateOfBirth: "2015-03-04", GradeLevel: 5, Guardians: gs}))
	return id
}

func (f *w2Fixture) assign(student, class string) {
	f.t.Helper()
	f.must(commands.NewAssignStudentToClassHandler(f.repo).Handle(f.ctx, f.admin(),
		commands.AssignStudentToClass{StudentID: student, ClassID: class}))
}

// record records a grade of student, assessed now, an hour after the
// previous one, and returns the assessment's ID.
func (f *w2Fixture) record(student, subject string, grade float64) string {
	f.t.Helper()
	now := f.clock.Advance(time.Hour)
	id := uuid.NewString()
	f.must(commands.NewRecordPerformanceHandler(f.repo).Handle(f.ctx, f.admin(), commands.RecordPerformance{
		StudentID: student, AssessmentID: id, Subject: subject, Grade: grade, AssessmentType: "quiz", AssessedAt: now}))
	return id
}

// pump hands every stored event not yet pumped to the runtime, in store
// order, for each saga consuming its channel (twice each when f.twice),
// until the sagas append nothing more. The store shows an event once
// every older transaction of the cluster (other tests' too) has ended:
// pump waits for the log to show every event stored.
func (f *w2Fixture) pump() {
	f.t.Helper()
	if err := f.tryPump(); err != nil {
		f.t.Fatal(err)
	}
}

// tryPump is pump, returning the first handling error.
func (f *w2Fixture) tryPump() error {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var stored int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM events`).Scan(&stored); err != nil {
			return err
		}
		if f.delivered >= stored {
			return nil
		}
		evs, err := f.store.ReadAll(f.ctx, f.pumped, 500)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("the log shows %d of %d events after 30s", f.delivered, stored)
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		for _, e := range evs {
			if err := f.deliver(e); err != nil {
				return err
			}
			f.pumped = e.Position
			f.delivered++
		}
	}
}

// repump delivers the whole log once more.
func (f *w2Fixture) repump() {
	f.t.Helper()
	f.pumped, f.delivered = 0, 0
	f.pump()
}

func (f *w2Fixture) deliver(e eventstore.RecordedEvent) error {
	ch, ok := domain.ChannelOf(e.Type)
	if !ok {
		return nil
	}
	times := 1
	if f.twice {
		times = 2
	}
	for _, s := range f.rt.Sagas() {
		if !slices.Contains(s.Channels(), ch) {
			continue
		}
		for range times {
			if err := f.rt.Handle(f.ctx, s.Name(), e); err != nil {
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
		}
	}
	return nil
}

// fire advances the clock by d and fires the due deadlines.
func (f *w2Fixture) fire(d time.Duration) int {
	f.t.Helper()
	f.clock.Advance(d)
	n, err := f.rt.FireDue(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *w2Fixture) workflow(saga, id string) sagas.Workflow {
	f.t.Helper()
	w, err := sagas.GetWorkflow(f.ctx, f.pool, sagas.WorkflowID(saga, id))
	if err != nil {
		f.t.Fatalf("workflow %s %s: %v", saga, id, err)
	}
	return w
}

// interventionWorkflows lists the ai_intervention_workflow instances of
// a student, most recent first.
func (f *w2Fixture) interventionWorkflows(student string) []sagas.Workflow {
	f.t.Helper()
	page, err := sagas.ListWorkflows(f.ctx, f.pool, sagas.WorkflowFilter{SchoolID: f.school,
		Type: sagas.InterventionWorkflowSaga, Subject: "student-" + student})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []sagas.Workflow
	for _, s := range page.Items {
		out = append(out, f.workflow(s.Type, s.BusinessID))
	}
	return out
}

// events returns the stored events of type typ (all streams), once the
// log shows every event stored.
func (f *w2Fixture) events(typ string) []eventstore.RecordedEvent {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var stored int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM events`).Scan(&stored); err != nil {
			f.t.Fatal(err)
		}
		all, err := f.store.ReadAll(f.ctx, 0, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(all) >= stored {
			var out []eventstore.RecordedEvent
			for _, e := range all {
				if e.Type == typ {
					out = append(out, e)
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the log shows %d of %d events after 30s", len(all), stored)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// messages returns the messages sent, decoded.
func (f *w2Fixture) messages() []domain.MessageSent {
	f.t.Helper()
	var out []domain.MessageSent
	for _, e := range f.events("message.sent.v1") {
		ev, err := domain.DecodeEvent(e.Type, e.Data)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, ev.(domain.MessageSent))
	}
	return out
}

// w2To lists a message's recipients as "kind:id".
func w2To(m domain.MessageSent) []string {
	var out []string
	for _, r := range m.Recipients {
		out = append(out, string(r.Kind)+":"+r.ID)
	}
	return out
}

// w2Recipients lists who got each message, in order: "kind:id,kind:id".
func w2Recipients(ms []domain.MessageSent) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join(w2To(m), ","))
	}
	return out
}

func w2Steps(w sagas.Workflow) []string {
	var out []string
	for _, s := range w.Steps {
		out = append(out, s.Step)
	}
	return out
}

func w2WantState(t *testing.T, w sagas.Workflow, state sagas.State, reason string) {
	t.Helper()
	if w.State != state || !strings.Contains(w.Reason, reason) {
		t.Fatalf("workflow %s %s: state %s reason %q, want %s with %q\nsteps %v", w.Type, w.BusinessID, w.State, w.Reason, state, reason, w2Steps(w))
	}
}

func w2WantCount(t *testing.T, f *w2Fixture, typ string, n int) {
	t.Helper()
	if got := len(f.events(typ)); got != n {
		t.Fatalf("%d %s events, want %d", got, typ, n)
	}
}

// w2Directory is a Directory that knows attendance only (what the two
// workflows ask of it).
type w2Directory struct {
	mu         sync.Mutex
	attendance map[string]sagas.AttendanceSummary
	asked      []string // "student from..to"
}

func (d *w2Directory) set(student string, a sagas.AttendanceSummary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attendance == nil {
		d.attendance = map[string]sagas.AttendanceSummary{}
	}
	d.attendance[student] = a
}

func (d *w2Directory) Attendance(_ context.Context, _, studentID string, from, to domain.Date) (sagas.AttendanceSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, fmt.Sprintf("%s %s..%s", studentID, from, to))
	return d.attendance[studentID], nil
}

func (d *w2Directory) Schools(context.Context) ([]sagas.SchoolSummary, error) { return nil, nil }
func (d *w2Directory) Classes(context.Context, string) ([]sagas.ClassSummary, error) {
	return nil, nil
}
func (d *w2Directory) GuardianMeetings(context.Context, string, string, domain.Date, domain.Date) ([]domain.MeetingSlot, error) {
	return nil, nil
}

// w2Notifier is the inbox notifier, which can be made to fail (a crash
// between two steps of a workflow).
type w2Notifier struct {
	inner sagas.Notifier
	mu    sync.Mutex
	fail  int // calls left to fail
	calls int
}

var errW2Crash = errors.New("w2: notifier down")

func (n *w2Notifier) failNext(k int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail = k
}

func (n *w2Notifier) Notify(ctx context.Context, m commands.Meta, msg sagas.Notification) (commands.Result, error) {
	n.mu.Lock()
	n.calls++
	if n.fail > 0 {
		n.fail--
		n.mu.Unlock()
		return commands.Result{}, errW2Crash
	}
	n.mu.Unlock()
	return n.inner.Notify(ctx, m, msg)
}
