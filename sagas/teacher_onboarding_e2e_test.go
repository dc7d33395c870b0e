package sagas_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// End-to-end tests of the two workflows (engineer W1): the whole service
// (HTTP API, event store, relay, Kafka consumers, projections, sagas) on
// one database and an in-process broker, with a school, Hillside
// (Europe/Berlin).

// w1WaitClasses waits until the read-model directory lists n classes of
// the school: the workflows find classes there.
func w1WaitClasses(s *system, n int) {
	s.t.Helper()
	dir := directory.New(s.Pool)
	eventually(s.t, fmt.Sprintf("%d classes of school %s in the directory", n, s.school), func() (bool, string) {
		cs, err := dir.Classes(s.t.Context(), s.school)
		if err != nil {
			s.t.Fatal(err)
		}
		return len(cs) >= n, fmt.Sprintf("it lists %d", len(cs))
	})
}

func TestTeacherOnboardingEndToEnd(t *testing.T) {
	t.Parallel()
	s := startSystem(t, "Hillside", "Europe/Berlin", sagas.NewTeacherOnboarding)
	var class commands.Result
	s.MustDo(t, http.MethodPost, s.path("/classes"), s.admin, map[string]any{
		"name": "5A", "gradeLevel": 5, "capacity": 28, "subjects": []string{"mathematics", "physics"},
	}, http.StatusCreated, &class)
	w1WaitClasses(s, 1)

	var teacher commands.Result
	s.MustDo(t, http.MethodPost, s.path("/teachers"), s.admin, map[string]any{
		"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"preferredTimeSlots": []string{"morning"}, "maxClassesPerDay": 3},
	}, http.StatusCreated, &teacher)
	id := sagas.WorkflowID(sagas.TeacherOnboardingName, teacher.ID)
	// The first step commits the instance with its publication.
	if w := s.WaitWorkflow(t, id, sagas.StateRunning); w.Step != "subject_assigned" {
		t.Fatalf("first step: %s", systemtest.Describe(w))
	}
	// A restart between the steps: the welcome step still runs, once.
	s.RestartSagas(t)
	if n := s.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired, want the welcome", n)
	}
	w := s.WaitWorkflow(t, id, sagas.StateCompleted)
	if w.Reason != "Ada Lovelace onboarded: 4 lessons a week in timetable version 1; welcome sent, administrators informed" {
		t.Errorf("reason: %s", systemtest.Describe(w))
	}
	if hw := s.httpWorkflow(s.path("/workflows/", id), s.admin); hw.State != sagas.StateCompleted || hw.Type != sagas.TeacherOnboardingName ||
		len(hw.Steps) != len(w.Steps) {
		t.Errorf("GET workflow: %+v", hw.WorkflowSummary)
	}

	// The teacher's inbox, read as the teacher; the office's, as an admin.
	s.WaitInbox(t, s.school, "teacher", teacher.ID, 1)
	s.WaitInbox(t, s.school, "admin", domain.OfficeRecipientID, 1)
	s.Settle(t)
	msgs := s.httpInbox(s.Token(commands.RoleTeacher, s.school, teacher.ID))
	if len(msgs) != 1 || msgs[0].Category != "welcome" || !strings.Contains(msgs[0].Body, "4 lessons") ||
		!strings.Contains(msgs[0].Body, "5A") {
		t.Fatalf("teacher's inbox: %+v", msgs)
	}
	office := s.httpInbox(s.admin)
	if len(office) != 1 || office[0].Subject != "Teacher onboarded: Ada Lovelace" {
		t.Errorf("office inbox: %+v", office)
	}

	// The timetable and the class, through the store; each effect once.
	for typ, want := range map[string]int{domain.TimetablePublishedType: 1, domain.ClassSubjectTeacherAssignedType: 1,
		domain.MessageSentType: 2, domain.TeacherOnboardedType: 1} {
		if n := s.CountEvents(t, typ); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
	events := s.Events(t, "class-"+class.ID)
	if !slices.ContainsFunc(events, func(e eventstore.RecordedEvent) bool { return e.Type == domain.ClassSubjectTeacherAssignedType }) {
		t.Errorf("5A's mathematics was not assigned")
	}
}
