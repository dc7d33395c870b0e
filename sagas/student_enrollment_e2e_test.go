package sagas_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/sagas"
)

func TestStudentEnrollmentEndToEnd(t *testing.T) {
	t.Parallel()
	s := startSystem(t, "Hillside", "Europe/Berlin", sagas.NewStudentEnrollment)
	var tina, c5A commands.Result
	s.MustDo(t, http.MethodPost, s.path("/teachers"), s.admin, map[string]any{
		"name": "Tina Taylor", "email": "tina@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"maxClassesPerDay": 5},
	}, http.StatusCreated, &tina)
	s.MustDo(t, http.MethodPost, s.path("/classes"), s.admin, map[string]any{
		"name": "5A", "gradeLevel": 5, "capacity": 24,
		"subjects": []any{map[string]string{"subject": "mathematics", "teacherId": tina.ID}, "art"},
	}, http.StatusCreated, &c5A)
	w1WaitClasses(s, 1)

	enroll := func(name string, grade int, guardians ...string) string {
		var gs []map[string]string
		for _, g := range guardians {
			gs = append(gs, map[string]string{"name": g, "email": strings.ToLower(g) + "@home.example", "relationship": "parent"})
		}
		var res commands.Result
		s.MustDo(t, http.MethodPost, s.path("/students"), s.admin, map[string]any{
			"name": name, "dateOfBirth": "2015-05-06", "gradeLevel": grade, "guardians": gs,
		}, http.StatusCreated, &res)
		return res.ID
	}

	// Placed at once: invitations, welcomes, the teacher told.
	mia := enroll("Mia Moss", 5, "Pat", "Sam")
	w := s.WaitWorkflow(t, sagas.WorkflowID(sagas.StudentEnrollmentName, mia), sagas.StateCompleted)
	if got := stepReasons(w, "placed"); len(got) != 1 || got[0] != "placed in 5A (1/24), the only grade-5 class with room" {
		t.Errorf("placed: %s", systemtest.Describe(w))
	}
	pat := commands.GuardianID(s.school, "pat@home.example")
	s.WaitInbox(t, s.school, "guardian", pat, 2)
	s.WaitInbox(t, s.school, "teacher", tina.ID, 1)
	s.Settle(t)
	var subjects []string
	for _, m := range s.httpInbox(s.Token(commands.RoleGuardian, s.school, pat)) {
		subjects = append(subjects, m.Subject)
	}
	slices.Sort(subjects)
	if want := []string{"Welcome to Hillside, Mia Moss", "Your guardian account at Hillside"}; !slices.Equal(subjects, want) {
		t.Errorf("Pat's inbox %q, want %q", subjects, want)
	}
	if msgs := s.httpInbox(s.Token(commands.RoleTeacher, s.school, tina.ID)); len(msgs) != 1 ||
		msgs[0].Subject != "New student in 5A: Mia Moss" {
		t.Errorf("Tina's inbox %+v", msgs)
	}

	// No grade-6 class: waiting; a class opens; the retry, after a
	// restart, places the student.
	noah := enroll("Noah Nash", 6, "Kim")
	id := sagas.WorkflowID(sagas.StudentEnrollmentName, noah)
	w = s.WaitWorkflow(t, id, sagas.StateRunning)
	if got := stepReasons(w, "waiting"); len(got) != 1 || got[0] != "the school has no grade-6 class" {
		t.Fatalf("waiting: %s", systemtest.Describe(w))
	}
	if hw := s.httpWorkflow(s.path("/workflows/", id), s.admin); hw.State != sagas.StateRunning || len(hw.Deadlines) != 1 ||
		hw.Deadlines[0].State != sagas.DeadlinePending {
		t.Errorf("GET workflow while waiting: %+v %+v", hw.WorkflowSummary, hw.Deadlines)
	}
	s.WaitInbox(t, s.school, "admin", domain.OfficeRecipientID, 1)
	s.MustDo(t, http.MethodPost, s.path("/classes"), s.admin, map[string]any{
		"name": "6A", "gradeLevel": 6, "capacity": 20, "subjects": []string{"history"},
	}, http.StatusCreated, nil)
	w1WaitClasses(s, 2)
	s.RestartSagas(t)
	s.Clock.Advance(time.Hour)
	if n := s.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired, want the retry", n)
	}
	w = s.WaitWorkflow(t, id, sagas.StateCompleted)
	if got := stepReasons(w, "placed"); len(got) != 1 || !strings.HasPrefix(got[0], "placed in 6A (1/20), the only grade-6 class with room, after waiting since") {
		t.Errorf("placed: %s", systemtest.Describe(w))
	}
	kim := commands.GuardianID(s.school, "kim@home.example")
	s.WaitInbox(t, s.school, "guardian", kim, 2)
	s.Settle(t)
	for typ, want := range map[string]int{domain.GuardianInvitedType: 3, domain.StudentAssignedToClassType: 2,
		domain.MessageSentType: 4 + 1 + 1 + 2} { // Mia: 2 guardians × 2 + teacher; Noah: office + Kim × 2
		if n := s.CountEvents(t, typ); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
}
