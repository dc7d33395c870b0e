package systemtest_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/sagas"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// welcomeSaga is the harness's own trivial workflow: a school registered
// starts it; each teacher created there gets a welcome message; an hour
// after the start it completes.
type welcomeSaga struct{ d sagas.Deps }

func (welcomeSaga) Name() string { return "st_welcome" }
func (welcomeSaga) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelSchool, domain.ChannelTeacher}
}

func (welcomeSaga) Correlate(t sagas.Trigger) (sagas.Route, bool) {
	switch e := t.Event.(type) {
	case domain.SchoolRegistered:
		return sagas.Route{ID: e.SchoolID, Start: true}, true
	case domain.TeacherCreated:
		return sagas.Route{ID: e.SchoolID}, true
	}
	return sagas.Route{}, false
}

func (s welcomeSaga) Handle(ctx context.Context, in *sagas.Instance, t sagas.Trigger) error {
	switch e := t.Event.(type) {
	case domain.SchoolRegistered:
		in.SetSchool(e.SchoolID)
		in.Record("waiting", "welcoming teachers for an hour")
		return in.Schedule("close", in.Now().Add(time.Hour), nil)
	case domain.TeacherCreated:
		m := in.Meta("welcome")
		res, err := s.d.Notifier.Notify(ctx, m, sagas.Notification{
			Recipients: []domain.RecipientInput{{Kind: "teacher", ID: e.TeacherID}},
			Subject:    "Welcome, " + e.Name,
			Body:       "Glad to have you.",
			Category:   "welcome",
		})
		if err != nil {
			return err
		}
		in.Issued("welcomed", "welcomed "+e.Name, m, res)
	}
	return nil
}

func (welcomeSaga) Deadline(_ context.Context, in *sagas.Instance, d sagas.Deadline) error {
	in.Complete("closed an hour after the start")
	return nil
}

func TestHarnessRunsAWorkflowEndToEnd(t *testing.T) {
	sys := systemtest.Start(t, systemtest.Options{
		Sagas: func(d sagas.Deps) []sagas.Saga { return []sagas.Saga{welcomeSaga{d}} },
	})
	platform := sys.Token(commands.RolePlatformAdmin, "", "")
	var school commands.Result
	sys.MustDo(t, http.MethodPost, "/v1/schools", platform, map[string]string{"name": "Hillside", "timezone": "Europe/Berlin"},
		http.StatusCreated, &school)
	id := sagas.WorkflowID("st_welcome", school.ID)
	w := sys.WaitWorkflow(t, id, sagas.StateRunning)
	if w.SchoolID != school.ID || w.Step != "waiting" || len(w.Deadlines) != 1 {
		t.Fatalf("workflow after the start: %s", systemtest.Describe(w))
	}

	admin := sys.Token(commands.RoleSchoolAdmin, school.ID, "")
	var teacher commands.Result
	sys.MustDo(t, http.MethodPost, "/v1/schools/"+school.ID+"/teachers", admin, map[string]any{
		"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"preferredTimeSlots": []string{"morning"}, "maxClassesPerDay": 4},
	}, http.StatusCreated, &teacher)
	msgs := sys.WaitInbox(t, school.ID, "teacher", teacher.ID, 1)
	if msgs[0].Subject != "Welcome, Ada Lovelace" {
		t.Errorf("message = %+v", msgs[0])
	}

	// A restart between the steps: the new runtime fires the deadline,
	// and nothing is done twice.
	sys.RestartSagas(t)
	if n := sys.FireDue(t); n != 0 {
		t.Fatalf("%d deadlines fired before due", n)
	}
	sys.Clock.Advance(time.Hour)
	if n := sys.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired when due, want 1", n)
	}
	w = sys.WaitWorkflow(t, id, sagas.StateCompleted)
	sys.Settle(t)
	if got := len(sys.Inbox(t, school.ID, "teacher", teacher.ID)); got != 1 {
		t.Errorf("%d messages, want 1", got)
	}
	if n := sys.CountEvents(t, "message.sent.v1"); n != 1 {
		t.Errorf("%d message.sent.v1 events, want 1", n)
	}
	steps := ""
	for _, st := range w.Steps {
		steps += st.Step + ","
	}
	if steps != "waiting,welcomed,completed," {
		t.Errorf("steps: %s", systemtest.Describe(w))
	}
	if n := sys.FireDue(t); n != 0 {
		t.Errorf("%d deadlines fired again", n)
	}

	// The token of a school admin stays valid however far the clock moves.
	sys.Clock.Advance(400 * 24 * time.Hour)
	if status, body := sys.Do(t, http.MethodGet, "/v1/schools/"+school.ID+"/teachers/"+teacher.ID, admin, nil); status != http.StatusOK {
		t.Errorf("GET teacher after a year: %d %s", status, body)
	}
}

// Settle waits for events that an open append elsewhere in the cluster
// keeps the relay from publishing (it publishes only below the log's
// horizon): a test that settles must see them applied.
func TestSettleWaitsForEventsBehindAnOpenTransaction(t *testing.T) {
	sys := systemtest.Start(t, systemtest.Options{
		Sagas: func(d sagas.Deps) []sagas.Saga { return nil },
	})
	platform := sys.Token(commands.RolePlatformAdmin, "", "")
	var school commands.Result
	sys.MustDo(t, http.MethodPost, "/v1/schools", platform, map[string]string{"name": "Hillside", "timezone": "UTC"},
		http.StatusCreated, &school)
	sys.Settle(t)

	// An append, open while the teacher is created.
	tx, err := sys.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Rolled back once, by the goroutine below or at the end of the test.
	var rollback sync.Once
	rolledBack := make(chan struct{})
	release := func() { _ = tx.Rollback(context.WithoutCancel(t.Context())); close(rolledBack) }
	t.Cleanup(func() { rollback.Do(release) })
	if _, err := tx.Exec(t.Context(), `SELECT eventstore_append('held', -1, $1, $2, $3, $4)`,
		[]uuid.UUID{uuid.New()}, []string{"test.held.v1"}, []string{`{}`}, []string{`{"schoolId":"elsewhere"}`}); err != nil {
		t.Fatal(err)
	}
	admin := sys.Token(commands.RoleSchoolAdmin, school.ID, "")
	var teacher commands.Result
	sys.MustDo(t, http.MethodPost, "/v1/schools/"+school.ID+"/teachers", admin, map[string]any{
		"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"maxClassesPerDay": 4},
	}, http.StatusCreated, &teacher)
	go func() {
		time.Sleep(300 * time.Millisecond)
		rollback.Do(release)
	}()
	sys.Settle(t)
	select {
	case <-rolledBack:
	default:
		t.Fatal("Settle returned while the open transaction held the teacher's event back")
	}
	if status, body := sys.Do(t, http.MethodGet, "/v1/schools/"+school.ID+"/teachers/"+teacher.ID, admin, nil); status != http.StatusOK {
		t.Errorf("GET teacher after Settle: %d %s", status, body)
	}
}
