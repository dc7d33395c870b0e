package sagas_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/sagas/sagatest"
)

// The helpers every workflow test uses. A world is commands on a
// PostgreSQL event store with a test clock, and the workflows under test
// on a Runtime over the same database, built again by restart as a
// restarted service would; its pump hands the runtime every stored event
// in store order, each to the sagas that consume its channel, as the
// Kafka consumers would (twice each, as a redelivering broker would, when
// the test says so); deadlines fire when the test calls fire. The
// end-to-end tests run the whole service instead (system, over
// internal/systemtest).

// waitTimeout bounds every wait of the helpers.
const waitTimeout = 60 * time.Second

// eventually calls check every 10ms until it reports done, and fails the
// test after waitTimeout with what it waited for and check's last word.
func eventually(t *testing.T, what string, check func() (done bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		done, last := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, waitTimeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// world is one test's commands, store, clock and runtime.
type world struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *postgres.Store
	clock *sagatest.Clock
	repo  *commands.Repository
	dir   *fakeDirectory
	note  *fakeNotifier
	// deps are what restart builds the sagas with.
	deps  sagas.Deps
	build []func(sagas.Deps) sagas.Saga
	// wrap, when set, wraps each saga restart builds (to inject failures).
	wrap func(sagas.Saga) sagas.Saga
	rt   *sagas.Runtime
	// twice hands every event to each saga two times.
	twice bool
	// after is the pump's position in the log; skipped where skip moved
	// it.
	after, skipped eventstore.Position
}

// newWorld is a world on a fresh database, its clock at sagatest.Start,
// running the sagas build makes over the inbox notifier (through a
// fakeNotifier), a fakeDirectory and the default settings.
func newWorld(t *testing.T, build ...func(sagas.Deps) sagas.Saga) *world {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)
	clock := sagatest.NewClock(sagatest.Start)
	repo := commands.NewRepository(store, clock.Now)
	w := &world{t: t, ctx: t.Context(), pool: pool, store: store, clock: clock, repo: repo, build: build,
		dir: newFakeDirectory(repo), note: &fakeNotifier{inner: sagas.NewInboxNotifier(repo)}}
	w.deps = sagas.Deps{Repo: repo, Notifier: w.note, Directory: w.dir, Settings: sagas.DefaultSettings()}
	w.restart()
	return w
}

// restart replaces the runtime and its sagas by new ones built from
// w.deps on the same database, as a restarted service has.
func (w *world) restart() {
	w.t.Helper()
	ss := make([]sagas.Saga, len(w.build))
	for i, b := range w.build {
		ss[i] = b(w.deps)
		if w.wrap != nil {
			ss[i] = w.wrap(ss[i])
		}
	}
	w.rt = newRuntime(w.t, w.pool, w.clock, ss...)
}

// newRuntime is a runtime of ss on pool with clock.
func newRuntime(t *testing.T, pool *pgxpool.Pool, clock sagas.Clock, ss ...sagas.Saga) *sagas.Runtime {
	t.Helper()
	rt, err := sagas.NewRuntime(sagas.Config{Pool: pool, Clock: clock}, ss...)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// visible waits until the store's log shows every committed event: it
// holds back the events of transactions newer than the oldest one still
// running anywhere on the server (other tests' included), so that no
// reader skips one.
func (w *world) visible() {
	w.t.Helper()
	eventually(w.t, "the log to show every stored event", func() (bool, string) {
		var shown, all int
		err := w.pool.QueryRow(w.ctx, `SELECT
			count(*) FILTER (WHERE tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))), count(*) FROM events`).Scan(&shown, &all)
		if err != nil {
			w.t.Fatal(err)
		}
		return shown == all, fmt.Sprintf("it shows %d of %d", shown, all)
	})
}

// log is every stored event, in log order.
func (w *world) log(after eventstore.Position) []eventstore.RecordedEvent {
	w.t.Helper()
	w.visible()
	recs, err := w.store.ReadAll(w.ctx, after, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// tryPump hands every event stored after w.after to each saga of the
// runtime that consumes its channel, in store order, until the sagas
// append nothing more. It stops at the first error, which it returns; the
// event that failed is handed again by the next pump.
func (w *world) tryPump() error {
	w.t.Helper()
	for {
		recs := w.log(w.after)
		if len(recs) == 0 {
			return nil
		}
		for _, e := range recs {
			if err := w.deliver(e); err != nil {
				return err
			}
			w.after = e.Position
		}
	}
}

// pump is tryPump, failing the test on an error.
func (w *world) pump() {
	w.t.Helper()
	if err := w.tryPump(); err != nil {
		w.t.Fatalf("pump: %v", err)
	}
}

// repump hands the whole log to the runtime once more.
func (w *world) repump() {
	w.t.Helper()
	w.after = 0
	w.pump()
}

// skip moves the pump past every event stored so far.
func (w *world) skip() {
	w.t.Helper()
	w.visible()
	head, err := w.store.Head(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	w.after, w.skipped = head, head
}

func (w *world) deliver(e eventstore.RecordedEvent) error {
	ch, _ := domain.ChannelOf(e.Type)
	times := 1
	if w.twice {
		times = 2
	}
	for _, s := range w.rt.Sagas() {
		if !slices.Contains(s.Channels(), ch) {
			continue
		}
		for range times {
			if err := w.rt.Handle(w.ctx, s.Name(), e); err != nil {
				return fmt.Errorf("%s: %s (%s version %d): %w", s.Name(), e.Type, e.StreamID, e.Version, err)
			}
		}
	}
	return nil
}

// fireDue fires the deadlines due by the clock and returns how many
// fired.
func (w *world) fireDue() int {
	w.t.Helper()
	return fireDue(w.t, w.rt)
}

// fire fires the due deadlines, then pumps what they caused; it returns
// how many fired.
func (w *world) fire() int {
	w.t.Helper()
	n := w.fireDue()
	w.pump()
	return n
}

func fireDue(t *testing.T, rt *sagas.Runtime) int {
	t.Helper()
	n, err := rt.FireDue(t.Context())
	if err != nil {
		t.Fatalf("FireDue: %v", err)
	}
	return n
}

// at moves the clock to t.
func (w *world) at(t time.Time) { w.clock.Set(t) }

// workflow is the status of saga's instance id.
func (w *world) workflow(saga, id string) sagas.Workflow {
	w.t.Helper()
	return getWorkflow(w.t, w.pool, saga, id)
}

func getWorkflow(t *testing.T, pool *pgxpool.Pool, saga, id string) sagas.Workflow {
	t.Helper()
	wf, err := sagas.GetWorkflow(t.Context(), pool, sagas.WorkflowID(saga, id))
	if err != nil {
		t.Fatalf("workflow %s %s: %v", saga, id, err)
	}
	return wf
}

// events are the stored events of type typ, in log order.
func (w *world) events(typ string) []eventstore.RecordedEvent {
	w.t.Helper()
	return slices.DeleteFunc(w.log(0), func(e eventstore.RecordedEvent) bool { return e.Type != typ })
}

// wantCount checks that the store holds n events of type typ.
func (w *world) wantCount(typ string, n int) {
	w.t.Helper()
	if got := len(w.events(typ)); got != n {
		w.t.Fatalf("%d %s events, want %d", got, typ, n)
	}
}

// decoded are the stored events of type typ, decoded, in log order.
func decoded[E any](w *world, typ string) []E {
	w.t.Helper()
	var out []E
	for _, e := range w.events(typ) {
		var ev E
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			w.t.Fatalf("%s %s: %v", typ, e.ID, err)
		}
		out = append(out, ev)
	}
	return out
}

// messages are the messages sent, in log order.
func (w *world) messages() []domain.MessageSent {
	w.t.Helper()
	return decoded[domain.MessageSent](w, domain.MessageSentType)
}

// messagesTo are the messages with recipient kind/id.
func (w *world) messagesTo(kind domain.RecipientKind, id string) []domain.MessageSent {
	w.t.Helper()
	return slices.DeleteFunc(w.messages(), func(m domain.MessageSent) bool {
		return !slices.Contains(m.Recipients, domain.Recipient{Kind: kind, ID: id})
	})
}

// load reads an aggregate from the store.
func load[A domain.Aggregate](w *world, blank A) A {
	w.t.Helper()
	a, _, err := commands.Load(w.ctx, w.repo, blank)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

// ---- Seeding through the commands. ----

// must fails the test on a command's error and returns its result.
func (w *world) must(res commands.Result, err error) commands.Result {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("command: %v", err)
	}
	return res
}

// platformAdmin is a platform admin's ("root") command metadata.
func platformAdmin() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(),
		Actor: commands.Actor{ID: "root", Roles: []commands.Role{commands.RolePlatformAdmin}}}
}

// memberOf is the command metadata of id, with role, in school.
func memberOf(school, id string, role commands.Role) commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(), SchoolID: school,
		Actor: commands.Actor{ID: id, Roles: []commands.Role{role}, SchoolID: school}}
}

// adminOf is the command metadata of the school's admin, "admin-1".
func adminOf(school string) commands.Meta {
	return memberOf(school, "admin-1", commands.RoleSchoolAdmin)
}

// emailOf is the address of name at host: "ann.adams@host".
func emailOf(name, host string) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@" + host
}

// registerSchool registers a school as a platform admin, lists it in the
// directory and returns its ID.
func (w *world) registerSchool(name, tz string) string {
	w.t.Helper()
	id := uuid.NewString()
	w.must(commands.NewRegisterSchoolHandler(w.repo).Handle(w.ctx, platformAdmin(),
		commands.RegisterSchool{SchoolID: id, Name: name, Timezone: tz}))
	w.dir.addSchool(sagas.SchoolSummary{ID: id, Name: name, Timezone: tz})
	return id
}

// createTeacher creates a teacher as the school's admin and returns their
// ID.
func (w *world) createTeacher(school string, cmd commands.CreateTeacher) string {
	w.t.Helper()
	return w.must(commands.NewCreateTeacherHandler(w.repo).Handle(w.ctx, adminOf(school), cmd)).ID
}

// createClass opens a class as the school's admin, lists it in the
// directory and returns its ID.
func (w *world) createClass(school string, cmd commands.CreateClass) string {
	w.t.Helper()
	if cmd.ClassID == "" {
		cmd.ClassID = uuid.NewString()
	}
	w.must(commands.NewCreateClassHandler(w.repo).Handle(w.ctx, adminOf(school), cmd))
	w.dir.addClass(school, cmd.ClassID)
	return cmd.ClassID
}

// enrollStudent enrolls a student as the school's admin and returns
// their ID.
func (w *world) enrollStudent(school string, cmd commands.EnrollStudent) string {
	w.t.Helper()
	if cmd.StudentID == "" {
		cmd.StudentID = uuid.NewString()
	}
	w.must(commands.NewEnrollStudentHandler(w.repo).Handle(w.ctx, adminOf(school), cmd))
	return cmd.StudentID
}

// assignClass puts a student in a class, as the school's admin.
func (w *world) assignClass(school, student, class string) {
	w.t.Helper()
	w.must(commands.NewAssignStudentToClassHandler(w.repo).Handle(w.ctx, adminOf(school),
		commands.AssignStudentToClass{StudentID: student, ClassID: class}))
}

// ---- Fakes of the workflows' dependencies. ----

// fakeDirectory is the directory the workflows read, kept by the test:
// the schools and classes seeded (the classes as the store has them),
// attendance and guardian meetings as set.
type fakeDirectory struct {
	repo       *commands.Repository
	mu         sync.Mutex
	schools    []sagas.SchoolSummary
	classes    map[string][]string // school -> class IDs
	attendance map[string]sagas.AttendanceSummary
	meetings   map[string][]domain.MeetingSlot // school/guardian -> slots
	failing    error                           // returned by Classes when set
}

func newFakeDirectory(repo *commands.Repository) *fakeDirectory {
	return &fakeDirectory{repo: repo, classes: map[string][]string{}, attendance: map[string]sagas.AttendanceSummary{},
		meetings: map[string][]domain.MeetingSlot{}}
}

func (d *fakeDirectory) addSchool(s sagas.SchoolSummary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.schools = append(d.schools, s)
}

func (d *fakeDirectory) addClass(school, class string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.classes[school] = append(d.classes[school], class)
}

// setAttendance sets what Attendance counts for a student.
func (d *fakeDirectory) setAttendance(student string, a sagas.AttendanceSummary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attendance[student] = a
}

func (d *fakeDirectory) addGuardianMeeting(school, guardian string, slot domain.MeetingSlot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meetings[school+"/"+guardian] = append(d.meetings[school+"/"+guardian], slot)
}

// failClasses makes Classes fail with err (nil: work again).
func (d *fakeDirectory) failClasses(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing = err
}

func (d *fakeDirectory) Schools(context.Context) ([]sagas.SchoolSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.schools), nil
}

func (d *fakeDirectory) Classes(ctx context.Context, school string) ([]sagas.ClassSummary, error) {
	d.mu.Lock()
	ids, failing := slices.Clone(d.classes[school]), d.failing
	d.mu.Unlock()
	if failing != nil {
		return nil, failing
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

func (d *fakeDirectory) Attendance(_ context.Context, _, student string, _, _ domain.Date) (sagas.AttendanceSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attendance[student], nil
}

func (d *fakeDirectory) GuardianMeetings(_ context.Context, school, guardian string, from, to domain.Date) ([]domain.MeetingSlot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []domain.MeetingSlot
	for _, s := range d.meetings[school+"/"+guardian] {
		if !s.Date.Before(from) && !s.Date.After(to) {
			out = append(out, s)
		}
	}
	return out, nil
}

// fakeNotifier is the inbox notifier with failures the test injects.
type fakeNotifier struct {
	inner    sagas.Notifier
	mu       sync.Mutex
	subjects map[string]error          // subject part -> the error of the next message with it
	down     int                       // messages left to fail with errNotifierDown
	refused  map[domain.Recipient]bool // recipients refused for good
}

// errNotifierDown is the (transient) failure of failNext.
var errNotifierDown = errors.New("notifier down")

// failOnce makes the next message whose subject contains part fail with
// err (a transient error, or a domain error: refused for good).
func (n *fakeNotifier) failOnce(part string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subjects == nil {
		n.subjects = map[string]error{}
	}
	n.subjects[part] = err
}

// failNext makes the next k messages fail with errNotifierDown (a crash
// between two steps of a workflow).
func (n *fakeNotifier) failNext(k int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = k
}

// refuse refuses every message to recipient kind/id for good, as a
// notifier refuses an unknown recipient.
func (n *fakeNotifier) refuse(kind domain.RecipientKind, id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.refused == nil {
		n.refused = map[domain.Recipient]bool{}
	}
	n.refused[domain.Recipient{Kind: kind, ID: id}] = true
}

func (n *fakeNotifier) Notify(ctx context.Context, m commands.Meta, msg sagas.Notification) (commands.Result, error) {
	if err := n.failure(msg); err != nil {
		return commands.Result{}, err
	}
	return n.inner.Notify(ctx, m, msg)
}

func (n *fakeNotifier) failure(msg sagas.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for part, err := range n.subjects {
		if strings.Contains(msg.Subject, part) {
			delete(n.subjects, part)
			return err
		}
	}
	if n.down > 0 {
		n.down--
		return errNotifierDown
	}
	for _, r := range msg.Recipients {
		if n.refused[domain.Recipient{Kind: domain.RecipientKind(r.Kind), ID: r.ID}] {
			return domain.Invalid("recipients", "%s %s has no inbox", r.Kind, r.ID)
		}
	}
	return nil
}

// crashAfter wraps a saga so that its first handling of an event of type
// typ does all its work (commands included) and then fails with errCrash,
// as a process dying before the runtime's commit would.
type crashAfter struct {
	sagas.Saga
	typ     string
	mu      sync.Mutex
	crashed bool
}

var errCrash = errors.New("simulated crash before the commit")

func (c *crashAfter) Handle(ctx context.Context, in *sagas.Instance, t sagas.Trigger) error {
	if err := c.Saga.Handle(ctx, in, t); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Type == c.typ && !c.crashed {
		c.crashed = true
		return errCrash
	}
	return nil
}

// ---- Reading a workflow's status. ----

// stepNames lists a workflow's step names.
func stepNames(w sagas.Workflow) []string {
	out := make([]string, len(w.Steps))
	for i, s := range w.Steps {
		out[i] = s.Step
	}
	return out
}

// stepReasons are the reasons of the steps named step.
func stepReasons(w sagas.Workflow, step string) []string {
	var out []string
	for _, s := range w.Steps {
		if s.Step == step {
			out = append(out, s.Reason)
		}
	}
	return out
}

// stepReason is the reason of the first step named step; the test fails
// when there is none.
func stepReason(t *testing.T, w sagas.Workflow, step string) string {
	t.Helper()
	reasons := stepReasons(w, step)
	if len(reasons) == 0 {
		t.Fatalf("workflow %s has no step %s: %v", w.Type, step, stepNames(w))
	}
	return reasons[0]
}

// deadlineStates is "name:state" of each deadline, in the order set.
func deadlineStates(w sagas.Workflow) []string {
	out := make([]string, len(w.Deadlines))
	for i, d := range w.Deadlines {
		out[i] = d.Name + ":" + string(d.State)
	}
	return out
}

// workflowData decodes a workflow's own state.
func workflowData[T any](t *testing.T, w sagas.Workflow) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Data, &v); err != nil {
		t.Fatalf("workflow data %s: %v", w.Data, err)
	}
	return v
}

// wantState checks a workflow's state and that its reason contains
// reason.
func wantState(t *testing.T, w sagas.Workflow, state sagas.State, reason string) {
	t.Helper()
	if w.State != state || !strings.Contains(w.Reason, reason) {
		t.Fatalf("workflow %s %s: state %s reason %q, want %s with %q\n%s", w.Type, w.BusinessID, w.State, w.Reason, state, reason,
			systemtest.Describe(w))
	}
}

// ---- End to end: the whole service (internal/systemtest). ----

// system is the running service with the workflows a test runs and a
// school registered over HTTP.
type system struct {
	*systemtest.System
	t      *testing.T
	root   string // a platform admin's token
	school string
	admin  string // the school admin's ("admin-1") token
}

// startSystem starts the service running only the workflows build makes
// (with the read-model directory), and registers a school.
func startSystem(t *testing.T, name, tz string, build ...func(sagas.Deps) sagas.Saga) *system {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{
		Sagas: func(d sagas.Deps) []sagas.Saga {
			ss := make([]sagas.Saga, len(build))
			for i, b := range build {
				ss[i] = b(d)
			}
			return ss
		},
	})
	s := &system{System: sys, t: t, root: sys.Token(commands.RolePlatformAdmin, "", "root")}
	s.school = s.create("/v1/schools", s.root, map[string]any{"name": name, "timezone": tz})
	s.admin = sys.Token(commands.RoleSchoolAdmin, s.school, "admin-1")
	return s
}

// create sends a command that creates something and returns its ID.
func (s *system) create(path, token string, body any) string {
	s.t.Helper()
	var res commands.Result
	s.MustDo(s.t, http.MethodPost, path, token, body, http.StatusCreated, &res)
	return res.ID
}

// path is a path of the school's API: path("/students/", id).
func (s *system) path(parts ...string) string {
	return "/v1/schools/" + s.school + strings.Join(parts, "")
}

// waitStep waits until the workflow has recorded step, and returns it.
func (s *system) waitStep(id, step string) sagas.Workflow {
	s.t.Helper()
	var w sagas.Workflow
	eventually(s.t, fmt.Sprintf("step %s of workflow %s", step, id), func() (bool, string) {
		var err error
		w, err = sagas.GetWorkflow(s.t.Context(), s.Pool, id)
		return err == nil && slices.Contains(stepNames(w), step), fmt.Sprintf("%v %s", err, systemtest.Describe(w))
	})
	return w
}

// httpWorkflow reads a workflow through the API (path: the school's
// route, or GET /v1/workflows/{id} for platform admins).
func (s *system) httpWorkflow(path, token string) sagas.Workflow {
	s.t.Helper()
	var w sagas.Workflow
	s.MustDo(s.t, http.MethodGet, path, token, nil, http.StatusOK, &w)
	return w
}

// httpInbox reads an inbox of the school through the API, as its owner.
func (s *system) httpInbox(token string) []projections.InboxMessage {
	s.t.Helper()
	var page struct {
		Items []projections.InboxMessage `json:"items"`
	}
	s.MustDo(s.t, http.MethodGet, s.path("/inbox"), token, nil, http.StatusOK, &page)
	return page.Items
}
