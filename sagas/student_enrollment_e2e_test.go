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
	sys, school, admin := w1System(t, sagas.NewStudentEnrollment)
	base := "/v1/schools/" + school
	var tina, c5A commands.Result
	sys.MustDo(t, http.MethodPost, base+"/teachers", admin, map[string]any{
		"name": "Tina Taylor", "email": "tina@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"maxClassesPerDay": 5},
	}, http.StatusCreated, &tina)
	sys.MustDo(t, http.MethodPost, base+"/classes", admin, map[string]any{
		"name": "5A", "gradeLevel": 5, "capacity": 24,
		"subjects": []any{map[string]string{"subject": "mathematics", "teacherId": tina.ID}, "art"},
	}, http.StatusCreated, &c5A)
	w1WaitClasses(t, sys, school, 1)

	enroll := func(name string, grade int, guardians ...string) string {
		var gs []map[string]string
		for _, g := range guardians {
			gs = append(gs, map[string]string{"name": g, "email": strings.ToLower(g) + "@home.example", "relationship": "parent"})
		}
		var res commands.Result
		sys.MustDo(t, http.MethodPost, base+"/students", admin, map[string]any{
			"name": name, "dateOfBirth": "2015-05-06", "gradeLevel": grade, "guardians": gs,
		}, http.StatusCreated, &res)
		return res.ID
	}

	// Placed at once: invitations, welcomes, the teacher told.
	mia := enroll("Mia Moss", 5, "Pat", "Sam")
	w := sys.WaitWorkflow(t, sagas.WorkflowID(sagas.StudentEnrollmentName, mia), sagas.StateCompleted)
	if got := w1Step(w, "placed"); len(got) != 1 || got[0] != "placed in 5A (1/24), the only grade-5 class with room" {
		t.Errorf("placed: %s", systemtest.Describe(w))
	}
	pat := commands.GuardianID(school, "pat@home.example")
	sys.WaitInbox(t, school, "guardian", pat, 2)
	sys.WaitInbox(t, school, "teacher", tina.ID, 1)
	sys.Settle(t)
	var subjects []string
	for _, m := range w1HTTPInbox(t, sys, school, sys.Token(commands.RoleGuardian, school, pat)) {
		subjects = append(subjects, m.Subject)
	}
	slices.Sort(subjects)
	if want := []string{"Welcome to Hillside, Mia Moss", "Your guardian account at Hillside"}; !slices.Equal(subjects, want) {
		t.Errorf("Pat's inbox %q, want %q", subjects, want)
	}
	if msgs := w1HTTPInbox(t, sys, school, sys.Token(commands.RoleTeacher, school, tina.ID)); len(msgs) != 1 ||
		msgs[0].Subject != "New student in 5A: Mia Moss" {
		t.Errorf("Tina's inbox %+v", msgs)
	}

	// No grade-6 class: waiting; a class opens; the retry, after a
	// restart, places the student.
	noah := enroll("Noah Nash", 6, "Kim")
	id := sagas.WorkflowID(sagas.StudentEnrollmentName, noah)
	w = sys.WaitWorkflow(t, id, sagas.StateRunning)
	if got := w1Step(w, "waiting"); len(got) != 1 || got[0] != "the school has no grade-6 class" {
		t.Fatalf("waiting: %s", systemtest.Describe(w))
	}
	if hw := w1HTTPWorkflow(t, sys, school, admin, id); hw.State != sagas.StateRunning || len(hw.Deadlines) != 1 ||
		hw.Deadlines[0].State != sagas.DeadlinePending {
		t.Errorf("GET workflow while waiting: %+v %+v", hw.WorkflowSummary, hw.Deadlines)
	}
	sys.WaitInbox(t, school, "admin", domain.OfficeRecipientID, 1)
	sys.MustDo(t, http.MethodPost, base+"/classes", admin, map[string]any{
		"name": "6A", "gradeLevel": 6, "capacity": 20, "subjects": []string{"history"},
	}, http.StatusCreated, nil)
	w1WaitClasses(t, sys, school, 2)
	sys.RestartSagas(t)
	sys.Clock.Advance(time.Hour)
	if n := sys.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired, want the retry", n)
	}
	w = sys.WaitWorkflow(t, id, sagas.StateCompleted)
	if got := w1Step(w, "placed"); len(got) != 1 || !strings.HasPrefix(got[0], "placed in 6A (1/20), the only grade-6 class with room, after waiting since") {
		t.Errorf("placed: %s", systemtest.Describe(w))
	}
	kim := commands.GuardianID(school, "kim@home.example")
	sys.WaitInbox(t, school, "guardian", kim, 2)
	sys.Settle(t)
	for typ, want := range map[string]int{domain.GuardianInvitedType: 3, domain.StudentAssignedToClassType: 2,
		domain.MessageSentType: 4 + 1 + 1 + 2} { // Mia: 2 guardians × 2 + teacher; Noah: office + Kim × 2
		if n := sys.CountEvents(t, typ); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
}
