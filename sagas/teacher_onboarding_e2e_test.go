package sagas_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// End-to-end tests of the two workflows (engineer W1): the whole service
// (HTTP API, event store, relay, Kafka consumers, projections, sagas) on
// one database and an in-process broker.

// w1LazyDirectory is the read-model directory of a system, set once the
// system (and its database) exists; the workflows query it only later.
type w1LazyDirectory struct {
	mu sync.Mutex
	sagas.Directory
}

func (d *w1LazyDirectory) set(dir sagas.Directory) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Directory = dir
}

func (d *w1LazyDirectory) get() sagas.Directory {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Directory
}

func (d *w1LazyDirectory) Classes(ctx context.Context, school string) ([]sagas.ClassSummary, error) {
	return d.get().Classes(ctx, school)
}

// w1System starts the service with the given workflows and the
// read-model directory, registers a school and returns it with an
// administrator's token.
func w1System(t *testing.T, build func(sagas.Deps) sagas.Saga) (sys *systemtest.System, school, admin string) {
	t.Helper()
	dir := &w1LazyDirectory{}
	sys = systemtest.Start(t, systemtest.Options{
		Sagas:     func(d sagas.Deps) []sagas.Saga { return []sagas.Saga{build(d)} },
		Directory: dir,
	})
	dir.set(directory.New(sys.Pool))
	var res commands.Result
	sys.MustDo(t, http.MethodPost, "/v1/schools", sys.Token(commands.RolePlatformAdmin, "", ""),
		map[string]string{"name": "Hillside", "timezone": "Europe/Berlin"}, http.StatusCreated, &res)
	return sys, res.ID, sys.Token(commands.RoleSchoolAdmin, res.ID, "")
}

// w1WaitClasses waits until the read-model directory lists n classes of
// the school: the workflows find classes there.
func w1WaitClasses(t *testing.T, sys *systemtest.System, school string, n int) {
	t.Helper()
	dir := directory.New(sys.Pool)
	deadline := time.Now().Add(60 * time.Second)
	for {
		cs, err := dir.Classes(t.Context(), school)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory lists %d classes of school %s after 60s, want %d", len(cs), school, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// w1HTTPInbox reads an inbox through the HTTP API, as its owner.
func w1HTTPInbox(t *testing.T, sys *systemtest.System, school, token string) []projections.InboxMessage {
	t.Helper()
	var page struct {
		Items []projections.InboxMessage `json:"items"`
	}
	sys.MustDo(t, http.MethodGet, "/v1/schools/"+school+"/inbox", token, nil, http.StatusOK, &page)
	return page.Items
}

// w1HTTPWorkflow reads a workflow's status through the HTTP API.
func w1HTTPWorkflow(t *testing.T, sys *systemtest.System, school, admin, id string) sagas.Workflow {
	t.Helper()
	var w sagas.Workflow
	sys.MustDo(t, http.MethodGet, "/v1/schools/"+school+"/workflows/"+id, admin, nil, http.StatusOK, &w)
	return w
}

func TestTeacherOnboardingEndToEnd(t *testing.T) {
	t.Parallel()
	sys, school, admin := w1System(t, sagas.NewTeacherOnboarding)
	base := "/v1/schools/" + school
	var class commands.Result
	sys.MustDo(t, http.MethodPost, base+"/classes", admin, map[string]any{
		"name": "5A", "gradeLevel": 5, "capacity": 28, "subjects": []string{"mathematics", "physics"},
	}, http.StatusCreated, &class)
	w1WaitClasses(t, sys, school, 1)

	var teacher commands.Result
	sys.MustDo(t, http.MethodPost, base+"/teachers", admin, map[string]any{
		"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"preferredTimeSlots": []string{"morning"}, "maxClassesPerDay": 3},
	}, http.StatusCreated, &teacher)
	id := sagas.WorkflowID(sagas.TeacherOnboardingName, teacher.ID)
	// The first step commits the instance with its publication.
	if w := sys.WaitWorkflow(t, id, sagas.StateRunning); w.Step != "subject_assigned" {
		t.Fatalf("first step: %s", systemtest.Describe(w))
	}
	// A restart between the steps: the welcome step still runs, once.
	sys.RestartSagas(t)
	if n := sys.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired, want the welcome", n)
	}
	w := sys.WaitWorkflow(t, id, sagas.StateCompleted)
	if w.Reason != "Ada Lovelace onboarded: 4 lessons a week in timetable version 1; welcome sent, administrators informed" {
		t.Errorf("reason: %s", systemtest.Describe(w))
	}
	if hw := w1HTTPWorkflow(t, sys, school, admin, id); hw.State != sagas.StateCompleted || hw.Type != sagas.TeacherOnboardingName ||
		len(hw.Steps) != len(w.Steps) {
		t.Errorf("GET workflow: %+v", hw.WorkflowSummary)
	}

	// The teacher's inbox, read as the teacher; the office's, as an admin.
	sys.WaitInbox(t, school, "teacher", teacher.ID, 1)
	sys.WaitInbox(t, school, "admin", domain.OfficeRecipientID, 1)
	sys.Settle(t)
	msgs := w1HTTPInbox(t, sys, school, sys.Token(commands.RoleTeacher, school, teacher.ID))
	if len(msgs) != 1 || msgs[0].Category != "welcome" || !strings.Contains(msgs[0].Body, "4 lessons") ||
		!strings.Contains(msgs[0].Body, "5A") {
		t.Fatalf("teacher's inbox: %+v", msgs)
	}
	office := w1HTTPInbox(t, sys, school, admin)
	if len(office) != 1 || office[0].Subject != "Teacher onboarded: Ada Lovelace" {
		t.Errorf("office inbox: %+v", office)
	}

	// The timetable and the class, through the store; each effect once.
	for typ, want := range map[string]int{domain.TimetablePublishedType: 1, domain.ClassSubjectTeacherAssignedType: 1,
		domain.MessageSentType: 2, domain.TeacherOnboardedType: 1} {
		if n := sys.CountEvents(t, typ); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
	events := sys.Events(t, "class-"+class.ID)
	if !slices.ContainsFunc(events, func(e eventstore.RecordedEvent) bool { return e.Type == domain.ClassSubjectTeacherAssignedType }) {
		t.Errorf("5A's mathematics was not assigned")
	}
}
