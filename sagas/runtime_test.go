package sagas_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// The runtime's tests drive a tiny saga of their own, rtSaga, with
// school.registered.v1 events whose Name field says what each test wants
// ("<instance>:<action>"): the saga's behaviour is set per test.

type rtSaga struct {
	correlate func(t sagas.Trigger, instance, action string) (sagas.Route, bool)
	handle    func(ctx context.Context, in *sagas.Instance, action string) error
	deadline  func(ctx context.Context, in *sagas.Instance, d sagas.Deadline) error

	mu       sync.Mutex
	handled  map[string]int // instance business ID -> Handle calls
	deadlins map[string]int // "<instance>/<deadline>" -> Deadline calls
}

func (s *rtSaga) Name() string               { return "rt_test" }
func (s *rtSaga) Channels() []domain.Channel { return []domain.Channel{domain.ChannelSchool} }

func rtAction(t sagas.Trigger) (instance, action string) {
	name := t.Event.(domain.SchoolRegistered).Name
	instance, action, _ = strings.Cut(name, ":")
	return instance, action
}

func (s *rtSaga) Correlate(t sagas.Trigger) (sagas.Route, bool) {
	instance, action := rtAction(t)
	if s.correlate != nil {
		return s.correlate(t, instance, action)
	}
	if action == "ignore" {
		return sagas.Route{}, false
	}
	return sagas.Route{ID: instance, Start: action == "start"}, true
}

func (s *rtSaga) Handle(ctx context.Context, in *sagas.Instance, t sagas.Trigger) error {
	_, action := rtAction(t)
	s.mu.Lock()
	if s.handled == nil {
		s.handled = map[string]int{}
	}
	s.handled[in.ID()]++
	s.mu.Unlock()
	if s.handle != nil {
		return s.handle(ctx, in, action)
	}
	in.Record(action, "handled "+action)
	return nil
}

func (s *rtSaga) Deadline(ctx context.Context, in *sagas.Instance, d sagas.Deadline) error {
	s.mu.Lock()
	if s.deadlins == nil {
		s.deadlins = map[string]int{}
	}
	s.deadlins[in.ID()+"/"+d.Name]++
	s.mu.Unlock()
	if s.deadline != nil {
		return s.deadline(ctx, in, d)
	}
	in.Record(d.Name, "deadline "+d.Name+" fired")
	return nil
}

func (s *rtSaga) handleCalls(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handled[id]
}

func (s *rtSaga) deadlineCalls(id, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadlins[id+"/"+name]
}

const rtSchool = "school-rt"

// rtEvent is a stored event for rtSaga: "<instance>:<action>".
func rtEvent(t *testing.T, instanceAction string) eventstore.RecordedEvent {
	t.Helper()
	id := uuid.New()
	data, err := json.Marshal(domain.SchoolRegistered{SchoolID: id.String(), Name: instanceAction, Timezone: "UTC", At: sagatest.Start})
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.RecordedEvent{
		ID: id, StreamID: "school-" + id.String(), Version: 1, Position: 1, Type: "school.registered.v1", Data: data,
		Metadata:   eventstore.Metadata{SchoolID: rtSchool, ActorID: "rt", CorrelationID: "corr-" + instanceAction},
		RecordedAt: sagatest.Start,
	}
}

func rtHandle(t *testing.T, rt *sagas.Runtime, e eventstore.RecordedEvent) {
	t.Helper()
	if err := rt.Handle(t.Context(), "rt_test", e); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// rtWorkflow reads an instance's status.
func rtWorkflow(t *testing.T, pool *pgxpool.Pool, id string) sagas.Workflow {
	t.Helper()
	return getWorkflow(t, pool, "rt_test", id)
}

// rtData is the N of a test instance's data.
func rtData(t *testing.T, w sagas.Workflow) int {
	t.Helper()
	return workflowData[struct{ N int }](t, w).N
}

func rtCount(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRuntimeHandlesAnEventOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		var st struct{ N int }
		if err := in.Load(&st); err != nil {
			return err
		}
		st.N++
		in.Record(action, fmt.Sprintf("seen %d", st.N))
		if err := in.Schedule("remind", in.Now().Add(time.Hour), map[string]int{"n": st.N}); err != nil {
			return err
		}
		return in.Save(st)
	}}
	rt := newRuntime(t, pool, &sagatest.Clock{}, s)
	e := rtEvent(t, "a:start")
	rtHandle(t, rt, e)
	rtHandle(t, rt, e)
	// A new runtime (a restart) sees it as processed too.
	rtHandle(t, newRuntime(t, pool, &sagatest.Clock{}, s), e)

	if n := s.handleCalls("a"); n != 1 {
		t.Errorf("the saga handled the event %d times, want 1", n)
	}
	w := rtWorkflow(t, pool, "a")
	if got := stepNames(w); len(got) != 1 || got[0] != "start" {
		t.Errorf("steps = %v, want [start]", got)
	}
	if rtData(t, w) != 1 {
		t.Errorf("data = %s, want {\"N\":1}", w.Data)
	}
	if len(w.Deadlines) != 1 || w.Deadlines[0].State != sagas.DeadlinePending {
		t.Errorf("deadlines = %+v, want one pending", w.Deadlines)
	}
	st := w.Steps[0]
	if st.EventID != e.ID.String() || st.Trigger != e.Type || st.Seq != 1 || !st.At.Equal(sagatest.Start) {
		t.Errorf("step = %+v, want event %s, trigger %s, seq 1, at %s", st, e.ID, e.Type, sagatest.Start)
	}
	if w.State != sagas.StateRunning || w.SchoolID != rtSchool || w.Type != "rt_test" || w.BusinessID != "a" {
		t.Errorf("workflow = %+v", w)
	}
}

func TestRuntimeStartsOrIgnores(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := &rtSaga{}
	rt := newRuntime(t, pool, &sagatest.Clock{}, s)

	// An event for a missing instance that may not start one: ignored,
	// recorded as processed.
	orphan := rtEvent(t, "b:step")
	rtHandle(t, rt, orphan)
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_instances`); n != 0 {
		t.Fatalf("%d instances after an event that may not start one", n)
	}
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_processed WHERE event_id = $1 AND outcome = 'ignored'`, orphan.ID); n != 1 {
		t.Errorf("the ignored event is not recorded as processed")
	}
	// An event Correlate refuses: nothing at all.
	rtHandle(t, rt, rtEvent(t, "b:ignore"))
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_processed`); n != 1 {
		t.Errorf("%d processed rows, want 1 (a refused event is not recorded)", n)
	}

	rtHandle(t, rt, rtEvent(t, "b:start"))
	rtHandle(t, rt, rtEvent(t, "b:step"))
	// A second start event finds the instance: no new one.
	rtHandle(t, rt, rtEvent(t, "b:start"))
	if got := stepNames(rtWorkflow(t, pool, "b")); strings.Join(got, ",") != "start,step,start" {
		t.Errorf("steps = %v", got)
	}
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_instances`); n != 1 {
		t.Errorf("%d instances, want 1", n)
	}
}

func TestRuntimeCorrelatesByKey(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	// "<key>:start" starts an instance with the key; "<key>:step" finds
	// the running one; "<key>:done" completes it.
	s := &rtSaga{
		correlate: func(_ sagas.Trigger, key, action string) (sagas.Route, bool) {
			return sagas.Route{Key: key, Start: action == "start"}, true
		},
		handle: func(_ context.Context, in *sagas.Instance, action string) error {
			if action == "done" {
				in.Complete("done with " + in.Key())
				return nil
			}
			in.Record(action, action+" of "+in.Key())
			return nil
		},
	}
	rt := newRuntime(t, pool, &sagatest.Clock{}, s)
	first := rtEvent(t, "k1:start")
	rtHandle(t, rt, first)
	rtHandle(t, rt, rtEvent(t, "k1:step"))
	rtHandle(t, rt, rtEvent(t, "k2:step")) // no running k2, may not start: ignored
	rtHandle(t, rt, rtEvent(t, "k1:done"))
	again := rtEvent(t, "k1:start") // k1's instance is finished: a new one starts
	rtHandle(t, rt, again)

	// An instance started by key alone is named by its starting event.
	w1 := rtWorkflow(t, pool, first.ID.String())
	if got := strings.Join(stepNames(w1), ","); got != "start,step,completed" || w1.State != sagas.StateCompleted || w1.Subject != "k1" {
		t.Errorf("first k1 instance: steps %s, state %s, key %q", got, w1.State, w1.Subject)
	}
	if w1.FinishedAt == nil {
		t.Error("a completed instance has no finishedAt")
	}
	w2 := rtWorkflow(t, pool, again.ID.String())
	if got := strings.Join(stepNames(w2), ","); got != "start" || w2.State != sagas.StateRunning {
		t.Errorf("second k1 instance: steps %s, state %s", got, w2.State)
	}
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_instances`); n != 2 {
		t.Errorf("%d instances, want 2", n)
	}
}

// TestRuntimeRoutesByIDThenKey: a route with an ID and a key goes to the
// instance with the ID; failing that, to the running instance with the
// key; failing both, it starts the instance with the ID. (An event that
// would start a second instance for a key joins the one going instead.)
func TestRuntimeRoutesByIDThenKey(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	// "<id>:start" routes to ID <id> with the key "student".
	s := &rtSaga{
		correlate: func(_ sagas.Trigger, id, action string) (sagas.Route, bool) {
			return sagas.Route{ID: id, Key: "student", Start: action == "start"}, true
		},
		handle: func(_ context.Context, in *sagas.Instance, action string) error {
			in.Record(action, "seen by "+in.ID())
			return nil
		},
	}
	rt := newRuntime(t, pool, &sagatest.Clock{}, s)
	rtHandle(t, rt, rtEvent(t, "a:start"))
	rtHandle(t, rt, rtEvent(t, "b:start")) // a runs with the key: b joins it
	rtHandle(t, rt, rtEvent(t, "a:step"))

	a := rtWorkflow(t, pool, "a")
	if got := strings.Join(stepNames(a), ","); got != "start,start,step" {
		t.Errorf("instance a: steps %s, want start,start,step", got)
	}
	if n := rtCount(t, pool, `SELECT count(*) FROM saga_instances`); n != 1 {
		t.Errorf("%d instances, want 1", n)
	}
}

func TestRuntimeFiresADeadlineOnceAlsoAfterARestart(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		switch action {
		case "start":
			in.Record("waiting", "reminder in an hour, check in three")
			if err := in.Schedule("remind", in.Now().Add(time.Hour), map[string]string{"to": "teacher"}); err != nil {
				return err
			}
			return in.Schedule("check", in.Now().Add(3*time.Hour), nil)
		case "cancel":
			in.Cancel("remind")
			in.Record("answered", "no reminder needed")
		case "move":
			in.Record("moved", "check later")
			return in.Schedule("check", in.Now().Add(5*time.Hour), nil)
		}
		return nil
	}}
	var payloads []string
	s.deadline = func(_ context.Context, in *sagas.Instance, d sagas.Deadline) error {
		var p map[string]string
		if err := d.Decode(&p); err != nil {
			return err
		}
		payloads = append(payloads, fmt.Sprint(p))
		in.Record(d.Name, "fired at "+in.Now().Format(time.RFC3339))
		return nil
	}
	rt := newRuntime(t, pool, clock, s)
	for _, id := range []string{"fires", "cancelled", "moved"} {
		rtHandle(t, rt, rtEvent(t, id+":start"))
	}
	rtHandle(t, rt, rtEvent(t, "cancelled:cancel"))

	if n := fireDue(t, rt); n != 0 {
		t.Fatalf("%d deadlines fired before any was due", n)
	}
	clock.Advance(59 * time.Minute)
	if n := fireDue(t, rt); n != 0 {
		t.Fatalf("%d deadlines fired a minute early", n)
	}
	clock.Advance(time.Minute)
	if n := fireDue(t, rt); n != 2 { // fires:remind, moved:remind
		t.Fatalf("%d deadlines fired when due, want 2", n)
	}
	if n := fireDue(t, rt); n != 0 {
		t.Fatalf("%d deadlines fired again", n)
	}
	if s.deadlineCalls("cancelled", "remind") != 0 {
		t.Error("a cancelled deadline fired")
	}
	if fmt.Sprint(payloads) != "[map[to:teacher] map[to:teacher]]" {
		t.Errorf("payloads = %v", payloads)
	}

	rtHandle(t, rt, rtEvent(t, "moved:move")) // check: +3h -> now(+1h)+5h

	// A restart: a new runtime on the same database fires what is due.
	rt2 := newRuntime(t, pool, clock, s)
	clock.Advance(2 * time.Hour)      // +3h
	if n := fireDue(t, rt2); n != 2 { // fires:check, cancelled:check (not moved:check)
		t.Fatalf("%d deadlines fired after the restart, want 2", n)
	}
	if n := fireDue(t, rt); n != 0 {
		t.Fatalf("the old runtime fired %d deadlines again", n)
	}
	if s.deadlineCalls("moved", "check") != 0 {
		t.Error("a moved deadline fired at its old time")
	}
	clock.Advance(3 * time.Hour) // +6h
	if n := fireDue(t, rt2); n != 1 {
		t.Fatalf("%d deadlines fired at the moved time, want 1", n)
	}
	for _, k := range [][2]string{{"fires", "remind"}, {"fires", "check"}, {"moved", "remind"}, {"moved", "check"}, {"cancelled", "check"}} {
		if n := s.deadlineCalls(k[0], k[1]); n != 1 {
			t.Errorf("%s/%s fired %d times, want 1", k[0], k[1], n)
		}
	}
	w := rtWorkflow(t, pool, "cancelled")
	states := map[string]sagas.DeadlineState{}
	for _, d := range w.Deadlines {
		states[d.Name] = d.State
	}
	if states["remind"] != sagas.DeadlineCancelled || states["check"] != sagas.DeadlineFired {
		t.Errorf("deadline states = %v", states)
	}
	if got := strings.Join(stepNames(w), ","); got != "waiting,answered,check" {
		t.Errorf("steps = %s", got)
	}
	last := w.Steps[len(w.Steps)-1]
	if last.Trigger != "deadline:check" || !last.At.Equal(sagatest.Start.Add(3*time.Hour)) {
		t.Errorf("deadline step = %+v", last)
	}
}

func TestRuntimeDeadlineCanRescheduleItself(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, _ string) error {
		return in.Schedule("retry", in.Now().Add(time.Hour), nil)
	}}
	s.deadline = func(_ context.Context, in *sagas.Instance, d sagas.Deadline) error {
		in.Record("retried", "tried again")
		if s.deadlineCalls(in.ID(), d.Name) < 3 {
			return in.Schedule(d.Name, in.Now().Add(time.Hour), nil)
		}
		in.Complete("third time lucky")
		return nil
	}
	rt := newRuntime(t, pool, clock, s)
	rtHandle(t, rt, rtEvent(t, "r:start"))
	for i := range 4 {
		clock.Advance(time.Hour)
		want := 1
		if i == 3 {
			want = 0
		}
		if n := fireDue(t, rt); n != want {
			t.Fatalf("hour %d: %d fired, want %d", i+1, n, want)
		}
	}
	w := rtWorkflow(t, pool, "r")
	if w.State != sagas.StateCompleted || len(w.Deadlines) != 3 {
		t.Errorf("state %s, %d deadlines, want completed with 3 fired", w.State, len(w.Deadlines))
	}
}

func TestRuntimeFailsAnInstanceOnADomainError(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	transient := 1
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		switch action {
		case "start":
			in.Record("waiting", "waiting for a place")
			return in.Schedule("timeout", in.Now().Add(time.Hour), nil)
		case "flaky":
			in.Record("flaky", "this step is rolled back")
			if transient > 0 {
				transient--
				return errors.New("database hiccup")
			}
			return nil
		case "place":
			in.Record("placing", "trying class 5B")
			return &domain.Error{Kind: domain.KindConflict, Message: "class 5B is full (30/30)"}
		}
		return nil
	}}
	rt := newRuntime(t, pool, clock, s)
	rtHandle(t, rt, rtEvent(t, "f:start"))

	// Any other error rolls back and is returned, to be retried.
	flaky := rtEvent(t, "f:flaky")
	if err := rt.Handle(t.Context(), "rt_test", flaky); err == nil || !strings.Contains(err.Error(), "database hiccup") {
		t.Fatalf("Handle = %v, want the saga's error", err)
	}
	if got := strings.Join(stepNames(rtWorkflow(t, pool, "f")), ","); got != "waiting" {
		t.Fatalf("steps after a rolled-back handling = %s", got)
	}
	rtHandle(t, rt, flaky) // the retry

	place := rtEvent(t, "f:place")
	rtHandle(t, rt, place) // a domain error: committed, not returned
	rtHandle(t, rt, place)
	w := rtWorkflow(t, pool, "f")
	if w.State != sagas.StateFailed || w.Reason != "class 5B is full (30/30)" || w.Step != "failed" {
		t.Errorf("state %s, step %s, reason %q", w.State, w.Step, w.Reason)
	}
	if got := strings.Join(stepNames(w), ","); got != "waiting,flaky,placing,failed" {
		t.Errorf("steps = %s, want the step before the failure kept", got)
	}
	if w.FinishedAt == nil {
		t.Error("no finishedAt")
	}
	if n := s.handleCalls("f"); n != 4 {
		t.Errorf("Handle called %d times, want 4 (start, flaky twice, place once)", n)
	}
	// Failing cancelled the pending deadline.
	if len(w.Deadlines) != 1 || w.Deadlines[0].State != sagas.DeadlineCancelled {
		t.Errorf("deadlines = %+v, want the timeout cancelled", w.Deadlines)
	}
	clock.Advance(2 * time.Hour)
	if n := fireDue(t, rt); n != 0 {
		t.Errorf("%d deadlines of a failed instance fired", n)
	}
	// Events for a finished instance are ignored.
	rtHandle(t, rt, rtEvent(t, "f:flaky"))
	if n := s.handleCalls("f"); n != 4 {
		t.Errorf("a failed instance was handed another event")
	}
}

func TestRuntimeRetriesAFailingDeadline(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		return in.Schedule("remind", in.Now().Add(time.Minute), nil)
	}}
	fails := 2
	s.deadline = func(_ context.Context, in *sagas.Instance, d sagas.Deadline) error {
		if fails > 0 {
			fails--
			return errors.New("mail relay down")
		}
		in.Complete("reminded")
		return nil
	}
	rt := newRuntime(t, pool, clock, s)
	rtHandle(t, rt, rtEvent(t, "d:start"))
	clock.Advance(time.Minute)
	if n, err := rt.FireDue(t.Context()); n != 0 || err == nil || !strings.Contains(err.Error(), "mail relay down") {
		t.Fatalf("FireDue = %d, %v; want 0 and the saga's error", n, err)
	}
	if n := fireDue(t, rt); n != 0 {
		t.Fatalf("a failed deadline was tried again at once")
	}
	clock.Advance(10 * time.Second)
	if _, err := rt.FireDue(t.Context()); err == nil {
		t.Fatal("the second attempt did not fail")
	}
	clock.Advance(20 * time.Second)
	if n := fireDue(t, rt); n != 1 {
		t.Fatalf("the third attempt fired %d", n)
	}
	if w := rtWorkflow(t, pool, "d"); w.State != sagas.StateCompleted {
		t.Errorf("state %s, want completed", w.State)
	}
}

func TestRuntimeGivesUpOnADeadlineThatKeepsFailing(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, action string) error {
		return in.Schedule("remind", in.Now().Add(time.Minute), nil)
	}}
	s.deadline = func(context.Context, *sagas.Instance, sagas.Deadline) error { return errors.New("mail relay down") }
	rt := newRuntime(t, pool, clock, s)
	rtHandle(t, rt, rtEvent(t, "g:start"))
	for range 8 {
		clock.Advance(2 * time.Hour)
		_, _ = rt.FireDue(t.Context())
	}
	w := rtWorkflow(t, pool, "g")
	if w.State != sagas.StateFailed || !strings.Contains(w.Reason, "after 8 attempts") || !strings.Contains(w.Reason, "mail relay down") {
		t.Errorf("state %s, reason %q", w.State, w.Reason)
	}
	if s.deadlineCalls("g", "remind") != 8 {
		t.Errorf("%d attempts, want 8", s.deadlineCalls("g", "remind"))
	}
}

func TestRuntimeMetaIsDeterministic(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	repo := commands.NewRepository(postgres.New(pool), clock.Now)
	var metas []commands.Meta
	attempt := 0
	s := &rtSaga{handle: func(ctx context.Context, in *sagas.Instance, action string) error {
		m := in.Meta("register")
		metas = append(metas, m, in.Meta("other"))
		m.Actor.Roles = append(m.Actor.Roles, commands.RolePlatformAdmin) // the test's command needs it
		res, err := commands.NewRegisterSchoolHandler(repo).Handle(ctx, m, commands.RegisterSchool{
			SchoolID: "s-" + in.ID(), Name: "Hillside", Timezone: "UTC"})
		if err != nil {
			return err
		}
		in.Issued("registered", "school registered", m, res)
		attempt++
		if attempt == 1 {
			return errors.New("crash after the command") // rolled back: the retry issues it again
		}
		return nil
	}}
	rt := newRuntime(t, pool, clock, s)
	e := rtEvent(t, "m:start")
	if err := rt.Handle(t.Context(), "rt_test", e); err == nil {
		t.Fatal("want the first attempt's error")
	}
	rtHandle(t, rt, e)

	if metas[0].CommandID != metas[2].CommandID {
		t.Errorf("command IDs differ between attempts: %s, %s", metas[0].CommandID, metas[2].CommandID)
	}
	if metas[0].CommandID == metas[1].CommandID {
		t.Error("two purposes share a command ID")
	}
	m := metas[0]
	if m.Actor.ID != "saga:rt_test" || m.CausationID != e.ID.String() || m.CorrelationID != "corr-m:start" || m.SchoolID != rtSchool {
		t.Errorf("meta = %+v", m)
	}
	recs, err := postgres.New(pool).ReadStream(t.Context(), "school-s-m", 0, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("stream school-s-m: %d events, %v; want 1", len(recs), err)
	}
	w := rtWorkflow(t, pool, "m")
	if len(w.Steps) != 1 || w.Steps[0].Command != m.CommandID || w.Steps[0].Stream != "school-s-m" || w.Steps[0].Version != 1 {
		t.Errorf("steps = %+v", w.Steps)
	}

	// Another event for the same instance gives other IDs.
	rtHandle(t, rt, rtEvent(t, "m:step"))
	if metas[4].CommandID == m.CommandID {
		t.Error("two triggers share a command ID")
	}
}

func TestRuntimeSerializesAnInstance(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := &rtSaga{
		correlate: func(_ sagas.Trigger, key, _ string) (sagas.Route, bool) {
			return sagas.Route{Key: key, Start: true}, true
		},
		handle: func(_ context.Context, in *sagas.Instance, _ string) error {
			var st struct{ N int }
			if err := in.Load(&st); err != nil {
				return err
			}
			st.N++
			time.Sleep(time.Millisecond) // widen the window a lost update would need
			in.Record("counted", fmt.Sprint(st.N))
			return in.Save(st)
		},
	}
	rt := newRuntime(t, pool, &sagatest.Clock{}, s)
	const n = 20
	events := make([]eventstore.RecordedEvent, n)
	for i := range events {
		events[i] = rtEvent(t, "same:count")
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n * 2 { // every event twice, concurrently
		wg.Go(func() {
			if err := rt.Handle(context.Background(), "rt_test", events[i%n]); err != nil {
				t.Error(err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	if c := rtCount(t, pool, `SELECT count(*) FROM saga_instances`); c != 1 {
		t.Fatalf("%d instances started by concurrent events with one key, want 1", c)
	}
	var id string
	if err := pool.QueryRow(t.Context(), `SELECT id FROM saga_instances`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	w := rtWorkflow(t, pool, id)
	if rtData(t, w) != n || len(w.Steps) != n {
		t.Errorf("data %s, %d steps; want N=%d and %d steps", w.Data, len(w.Steps), n, n)
	}
	for i, st := range w.Steps {
		if st.Seq != i+1 || st.Reason != fmt.Sprint(i+1) {
			t.Errorf("step %d = seq %d reason %s", i, st.Seq, st.Reason)
		}
	}
}

func TestRuntimeReplicasFireEachDeadlineOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	clock := &sagatest.Clock{}
	s := &rtSaga{handle: func(_ context.Context, in *sagas.Instance, _ string) error {
		return in.Schedule("remind", in.Now().Add(time.Minute), nil)
	}}
	const n = 30
	rt := newRuntime(t, pool, clock, s)
	for i := range n {
		rtHandle(t, rt, rtEvent(t, fmt.Sprintf("i%d:start", i)))
	}
	clock.Advance(time.Minute)
	replicas := []*sagas.Runtime{rt, newRuntime(t, pool, clock, s), newRuntime(t, pool, clock, s)}
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			k, err := r.FireDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(k))
		})
	}
	wg.Wait()
	if total.Load() != n {
		t.Errorf("replicas fired %d deadlines, want %d", total.Load(), n)
	}
	for i := range n {
		if c := s.deadlineCalls(fmt.Sprintf("i%d", i), "remind"); c != 1 {
			t.Errorf("instance i%d: fired %d times", i, c)
		}
	}
}

func TestRuntimePermanentErrors(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	rt := newRuntime(t, pool, &sagatest.Clock{}, &rtSaga{})
	if err := rt.Handle(t.Context(), "nope", rtEvent(t, "x:start")); !errors.Is(err, sagas.ErrUnknownSaga) {
		t.Errorf("unknown saga: %v", err)
	}
	bad := rtEvent(t, "x:start")
	bad.Data = []byte(`{"schoolId": 5}`)
	if err := rt.Handle(t.Context(), "rt_test", bad); !errors.Is(err, sagas.ErrInvalidEvent) {
		t.Errorf("undecodable event: %v", err)
	}
	if _, err := sagas.NewRuntime(sagas.Config{}, &rtSaga{}, &rtSaga{}); err == nil ||
		!strings.Contains(err.Error(), "Pool is required") || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("NewRuntime with problems: %v", err)
	}
}
