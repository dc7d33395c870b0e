package sagas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
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
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/sagas/sagatest"
)

// The W3 workflows' tests (exam_cycle_complete, parent_teacher_meeting,
// system_maintenance) drive the Runtime directly: commands on a
// PostgreSQL event store with a test clock, every stored event handed to
// the runtime in store order (w3World.pump, optionally twice, as a
// redelivering broker would), deadlines fired with FireDue after moving
// the clock. restart builds a new runtime and saga on the same database,
// as a restarted service would.

type w3World struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	store   *postgres.Store
	clock   *sagatest.Clock
	repo    *commands.Repository
	dir     *w3Directory
	deps    sagas.Deps
	newSaga func(sagas.Deps) sagas.Saga
	rt      *sagas.Runtime
	// twice hands every event to the runtime two times.
	twice bool
	after eventstore.Position
	read  int // events read from the log so far
}

func w3NewWorld(t *testing.T, newSaga func(sagas.Deps) sagas.Saga) *w3World {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)
	clock := sagatest.NewClock(sagatest.Start)
	repo := commands.NewRepository(store, clock.Now)
	w := &w3World{t: t, ctx: context.Background(), pool: pool, store: store, clock: clock, repo: repo,
		dir: &w3Directory{guardian: map[string][]domain.MeetingSlot{}}, newSaga: newSaga}
	w.deps = sagas.Deps{Repo: repo, Notifier: sagas.NewInboxNotifier(repo), Directory: w.dir, Settings: sagas.DefaultSettings()}
	w.restart()
	return w
}

// restart replaces the runtime and the saga by new ones on the same
// database (what a restarted service has).
func (w *w3World) restart() {
	w.t.Helper()
	rt, err := sagas.NewRuntime(sagas.Config{Pool: w.pool, Clock: w.clock}, w.newSaga(w.deps))
	if err != nil {
		w.t.Fatal(err)
	}
	w.rt = rt
}

// pump hands every event not handed yet to the runtime, in store order,
// for each saga whose channels carry it, until the log has no new event
// (the sagas' commands append some).
func (w *w3World) pump() {
	w.t.Helper()
	for {
		batch := w.readNew()
		if len(batch) == 0 {
			return
		}
		for _, e := range batch {
			ch, _ := domain.ChannelOf(e.Type)
			for _, s := range w.rt.Sagas() {
				if !slices.Contains(s.Channels(), ch) {
					continue
				}
				n := 1
				if w.twice {
					n = 2
				}
				for range n {
					if err := w.rt.Handle(w.ctx, s.Name(), e); err != nil {
						w.t.Fatalf("handle %s (%s v%d): %v", e.Type, e.StreamID, e.Version, err)
					}
				}
			}
		}
	}
}

// readNew returns the events appended since the last read. The log shows
// an event once every older transaction has ended, so it waits until it
// shows every event committed so far.
func (w *w3World) readNew() []eventstore.RecordedEvent {
	w.t.Helper()
	var committed int
	if err := w.pool.QueryRow(w.ctx, `SELECT count(*) FROM events`).Scan(&committed); err != nil {
		w.t.Fatal(err)
	}
	var out []eventstore.RecordedEvent
	deadline := time.Now().Add(20 * time.Second)
	for w.read < committed {
		batch, err := w.store.ReadAll(w.ctx, w.after, 500)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(batch) == 0 {
			if time.Now().After(deadline) {
				w.t.Fatalf("the log shows %d of %d events", w.read, committed)
			}
			time.Sleep(2 * time.Millisecond)
			continue
		}
		out = append(out, batch...)
		w.read += len(batch)
		w.after = batch[len(batch)-1].Position
	}
	return out
}

// fire fires the due deadlines, then pumps what they appended; it returns
// how many fired.
func (w *w3World) fire() int {
	w.t.Helper()
	n, err := w.rt.FireDue(w.ctx)
	if err != nil {
		w.t.Fatalf("fire due deadlines: %v", err)
	}
	w.pump()
	return n
}

// at moves the clock to t.
func (w *w3World) at(t time.Time) { w.clock.Set(t) }

// workflow is the status of saga's instance id.
func (w *w3World) workflow(saga, id string) sagas.Workflow {
	w.t.Helper()
	wf, err := sagas.GetWorkflow(w.ctx, w.pool, sagas.WorkflowID(saga, id))
	if err != nil {
		w.t.Fatalf("workflow %s/%s: %v", saga, id, err)
	}
	return wf
}

// w3Data decodes a workflow's own state.
func w3Data[T any](t *testing.T, wf sagas.Workflow) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(wf.Data, &v); err != nil {
		t.Fatalf("workflow data %s: %v", wf.Data, err)
	}
	return v
}

// w3Steps lists a workflow's step names.
func w3Steps(wf sagas.Workflow) []string {
	out := make([]string, len(wf.Steps))
	for i, s := range wf.Steps {
		out[i] = s.Step
	}
	return out
}

// w3Deadlines is "name:state" of each deadline, in the order set.
func w3Deadlines(wf sagas.Workflow) []string {
	out := make([]string, len(wf.Deadlines))
	for i, d := range wf.Deadlines {
		out[i] = d.Name + ":" + string(d.State)
	}
	return out
}

func w3StepReason(t *testing.T, wf sagas.Workflow, step string) string {
	t.Helper()
	for _, s := range wf.Steps {
		if s.Step == step {
			return s.Reason
		}
	}
	t.Fatalf("workflow %s has no step %s: %v", wf.Type, step, w3Steps(wf))
	return ""
}

// events returns the stored events of a type, in log order.
func (w *w3World) events(eventType string) []eventstore.RecordedEvent {
	w.t.Helper()
	var out []eventstore.RecordedEvent
	var after eventstore.Position
	for {
		batch, err := w.store.ReadAll(w.ctx, after, 1000)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(batch) == 0 {
			return out
		}
		for _, e := range batch {
			if e.Type == eventType {
				out = append(out, e)
			}
		}
		after = batch[len(batch)-1].Position
	}
}

// messages returns the messages sent, in log order.
func (w *w3World) messages() []domain.MessageSent {
	w.t.Helper()
	var out []domain.MessageSent
	for _, e := range w.events(domain.MessageSentType) {
		var m domain.MessageSent
		if err := json.Unmarshal(e.Data, &m); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// messagesTo returns the messages to one recipient.
func (w *w3World) messagesTo(kind domain.RecipientKind, id string) []domain.MessageSent {
	var out []domain.MessageSent
	for _, m := range w.messages() {
		if slices.Contains(m.Recipients, domain.Recipient{Kind: kind, ID: id}) {
			out = append(out, m)
		}
	}
	return out
}

// ---- Seeding a school through the commands. ----

// w3School is a school seeded for a test.
type w3School struct {
	w  *w3World
	ID string
}

func (w *w3World) school(name, tz string) *w3School {
	w.t.Helper()
	id := uuid.NewString()
	w.must(commands.NewRegisterSchoolHandler(w.repo).Handle(w.ctx, w.platform(),
		commands.RegisterSchool{SchoolID: id, Name: name, Timezone: tz}))
	w.dir.addSchool(sagas.SchoolSummary{ID: id, Name: name, Timezone: tz})
	return &w3School{w: w, ID: id}
}

func (w *w3World) must(res commands.Result, err error) commands.Result {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("command: %v", err)
	}
	return res
}

// platform is a platform admin's command metadata.
func (w *w3World) platform() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(),
		Actor: commands.Actor{ID: "root", Roles: []commands.Role{commands.RolePlatformAdmin}}}
}

// admin is a school admin's command metadata.
func (s *w3School) admin() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(), SchoolID: s.ID,
		Actor: commands.Actor{ID: "admin-1", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: s.ID}}
}

// teacherMeta is a teacher's command metadata.
func (s *w3School) teacherMeta(id string) commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(), SchoolID: s.ID,
		Actor: commands.Actor{ID: id, Roles: []commands.Role{commands.RoleTeacher}, SchoolID: s.ID}}
}

func (s *w3School) teacher(name string, subjects ...string) string {
	s.w.t.Helper()
	email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@school.test"
	s.w.must(commands.NewCreateTeacherHandler(s.w.repo).Handle(s.w.ctx, s.admin(), commands.CreateTeacher{
		Name: name, Email: email, Subjects: subjects,
		Preferences: domain.PreferencesInput{MaxClassesPerDay: 8}}))
	return commands.TeacherID(s.ID, email)
}

// class creates a class taught subject → teacher ("" for nobody).
func (s *w3School) class(name string, subjects map[string]string) string {
	s.w.t.Helper()
	id := uuid.NewString()
	var in []domain.ClassSubjectInput
	for _, sub := range slices.Sorted(maps.Keys(subjects)) {
		in = append(in, domain.ClassSubjectInput{Subject: sub, TeacherID: subjects[sub]})
	}
	s.w.must(commands.NewCreateClassHandler(s.w.repo).Handle(s.w.ctx, s.admin(), commands.CreateClass{
		ClassID: id, Name: name, GradeLevel: 5, Capacity: 30, Subjects: in}))
	return id
}

// student enrolls a student with guardians (names; e-mails derived) in
// a class and returns their ID and the guardians' IDs.
func (s *w3School) student(name, classID string, guardians ...string) (string, []string) {
	s.w.t.Helper()
	id := uuid.NewString()
	var gs []commands.EnrollStudentGuardian
	var gids []string
	for _, g := range guardians {
		email := strings.ToLower(strings.ReplaceAll(g, " ", ".")) + "@home.test"
		gs = append(gs, commands.EnrollStudentGuardian{Name: g, Email: email, Relationship: "parent"})
		gids = append(gids, commands.GuardianID(s.ID, email))
	}
	s.w.must(commands.NewEnrollStudentHandler(s.w.repo).Handle(s.w.ctx, s.admin(), commands.EnrollStudent{
		StudentID: id, Name: name, DateOfBirth: "2015-04-01", GradeLevel: 5, Guardians: gs}))
	if classID != "" {
		s.w.must(commands.NewAssignStudentToClassHandler(s.w.repo).Handle(s.w.ctx, s.admin(),
			commands.AssignStudentToClass{StudentID: id, ClassID: classID}))
	}
	return id, gids
}

// timetable publishes lessons "day/period" of a teacher in a class.
func (s *w3School) timetable(classID, subject, teacherID string, slots ...string) {
	s.w.t.Helper()
	var entries []domain.TimetableEntryInput
	for _, sl := range slots {
		day, p, _ := strings.Cut(sl, "/")
		var period int
		fmt.Sscan(p, &period)
		entries = append(entries, domain.TimetableEntryInput{ClassID: classID, Subject: subject, TeacherID: teacherID,
			Day: day, Period: period})
	}
	s.w.must(commands.NewPublishTimetableHandler(s.w.repo).Handle(s.w.ctx, s.admin(), commands.PublishTimetable{
		ChangeKind: "major", Entries: entries}))
}

// w3Directory is the directory the workflows read: the schools seeded,
// and guardian meetings set by the test.
type w3Directory struct {
	mu       sync.Mutex
	schools  []sagas.SchoolSummary
	guardian map[string][]domain.MeetingSlot // school/guardian -> slots
}

func (d *w3Directory) addSchool(s sagas.SchoolSummary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.schools = append(d.schools, s)
}

func (d *w3Directory) addGuardianMeeting(school, guardian string, slot domain.MeetingSlot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.guardian[school+"/"+guardian] = append(d.guardian[school+"/"+guardian], slot)
}

func (d *w3Directory) Schools(context.Context) ([]sagas.SchoolSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.schools), nil
}

func (d *w3Directory) Classes(context.Context, string) ([]sagas.ClassSummary, error) { return nil, nil }

func (d *w3Directory) Attendance(context.Context, string, string, domain.Date, domain.Date) (sagas.AttendanceSummary, error) {
	return sagas.AttendanceSummary{}, nil
}

func (d *w3Directory) GuardianMeetings(_ context.Context, school, guardian string, from, to domain.Date) ([]domain.MeetingSlot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []domain.MeetingSlot
	for _, s := range d.guardian[school+"/"+guardian] {
		if !s.Date.Before(from) && !s.Date.After(to) {
			out = append(out, s)
		}
	}
	return out, nil
}

// w3Date parses a date.
func w3Date(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate("date", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ---- End-to-end: the whole service (internal/systemtest). ----

// w3Sys is a running service with one workflow and a school of it.
type w3Sys struct {
	*systemtest.System
	t      *testing.T
	root   string // a platform admin's token
	school string
	admin  string // the school admin's token
}

// w3StartSystem starts the service running only the workflow build makes,
// with a school (Europe/Berlin).
func w3StartSystem(t *testing.T, build func(sagas.Deps) sagas.Saga) *w3Sys {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{
		Sagas: func(d sagas.Deps) []sagas.Saga { return []sagas.Saga{build(d)} },
	})
	s := &w3Sys{System: sys, t: t, root: sys.Token(commands.RolePlatformAdmin, "", "root")}
	s.school = s.create("/v1/schools", s.root, map[string]any{"name": "Lindenschule", "timezone": "Europe/Berlin"})
	s.admin = sys.Token(commands.RoleSchoolAdmin, s.school, "admin-1")
	return s
}

// create sends a command that creates something and returns its ID.
func (s *w3Sys) create(path, token string, body any) string {
	s.t.Helper()
	var res commands.Result
	s.MustDo(s.t, http.MethodPost, path, token, body, http.StatusCreated, &res)
	return res.ID
}

func (s *w3Sys) path(parts ...string) string {
	return "/v1/schools/" + s.school + strings.Join(parts, "")
}

// teacher creates a teacher; student enrolls one with a guardian in a
// class and returns the student's and the guardian's IDs.
func (s *w3Sys) teacher(name, subject string) string {
	s.t.Helper()
	return s.create(s.path("/teachers"), s.admin, map[string]any{"name": name,
		"email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@school.test", "subjects": []string{subject},
		"preferences": map[string]any{"maxClassesPerDay": 8}})
}

func (s *w3Sys) student(name, classID, guardian string) (string, string) {
	s.t.Helper()
	email := strings.ToLower(strings.ReplaceAll(guardian, " ", ".")) + "@home.test"
	id := s.create(s.path("/students"), s.admin, map[string]any{"name": name, "dateOfBirth": "2015-04-01", "gradeLevel": 5,
		"guardians": []any{map[string]any{"name": guardian, "email": email, "relationship": "parent"}}})
	s.MustDo(s.t, http.MethodPost, s.path("/students/", id, "/class-assignment"), s.admin,
		map[string]any{"classId": classID}, http.StatusOK, nil)
	return id, commands.GuardianID(s.school, email)
}

// waitStep waits until the workflow has recorded step, and returns it.
func (s *w3Sys) waitStep(id, step string) sagas.Workflow {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		w, err := sagas.GetWorkflow(s.t.Context(), s.Pool, id)
		if err == nil && slices.Contains(w3Steps(w), step) {
			return w
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("workflow %s has no step %s after 60s: %v %s", id, step, err, systemtest.Describe(w))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpWorkflow reads a workflow through GET /v1/workflows/{id} (platform
// admins) or the school's route.
func (s *w3Sys) httpWorkflow(path, token string) sagas.Workflow {
	s.t.Helper()
	var w sagas.Workflow
	s.MustDo(s.t, http.MethodGet, path, token, nil, http.StatusOK, &w)
	return w
}
