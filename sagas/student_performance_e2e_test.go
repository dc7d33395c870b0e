package sagas_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// w2WaitInterventionWorkflow waits for the student's intervention
// workflow to exist and returns its public ID.
func w2WaitInterventionWorkflow(s *system, student string) string {
	s.t.Helper()
	var id string
	eventually(s.t, "an intervention workflow for student "+student, func() (bool, string) {
		page, err := sagas.ListWorkflows(s.t.Context(), s.Pool, sagas.WorkflowFilter{SchoolID: s.school,
			Type: sagas.InterventionWorkflowSaga, Subject: "student-" + student})
		if err != nil {
			s.t.Fatal(err)
		}
		if len(page.Items) > 0 {
			id = page.Items[0].ID
		}
		return id != "", "none"
	})
	return id
}

// w2AtRisk reads the at-risk board through the HTTP API until the
// student's row satisfies ok.
func w2AtRisk(s *system, student string, ok func(projections.AtRiskStudent) bool) projections.AtRiskStudent {
	s.t.Helper()
	var row projections.AtRiskStudent
	eventually(s.t, "student "+student+" on the at-risk board", func() (bool, string) {
		var page struct {
			Items []projections.AtRiskStudent `json:"items"`
		}
		s.MustDo(s.t, http.MethodGet, s.path("/at-risk"), s.admin, nil, http.StatusOK, &page)
		for _, r := range page.Items {
			if r.StudentID == student && ok(r) {
				row = r
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", page.Items)
	})
	return row
}

// TestStudentPerformanceEndToEnd: from the HTTP command recording a grade,
// through Kafka, to the risk assessment, the intervention, the inbox
// messages and the at-risk board; a restart while the intervention waits;
// the follow-up deadline escalating to the office; an administrator
// closing it.
func TestStudentPerformanceEndToEnd(t *testing.T) {
	t.Parallel()
	s := startSystem(t, "Hillside", "UTC", sagas.NewStudentPerformance, sagas.NewInterventionWorkflow)
	sys, admin, base := s.System, s.admin, s.path()

	var tina, class, ada commands.Result
	sys.MustDo(t, http.MethodPost, base+"/teachers", admin, map[string]any{
		"name": "Tina Taylor", "email": "tina@hillside.example", "subjects": []string{"mathematics"},
		"preferences": map[string]any{"maxClassesPerDay": 5},
	}, http.StatusCreated, &tina)
	sys.MustDo(t, http.MethodPost, base+"/classes", admin, map[string]any{
		"name": "5B", "gradeLevel": 5, "capacity": 24,
		"subjects": []any{map[string]string{"subject": "mathematics", "teacherId": tina.ID}, "english"},
	}, http.StatusCreated, &class)
	sys.MustDo(t, http.MethodPost, base+"/students", admin, map[string]any{
		"name": "Ada Lovelace", "dateOfBirth": "2015-05-06", "gradeLevel": 5, "guardians": []map[string]string{
			{"name": "Pat Lovelace", "email": "pat@home.example", "relationship": "parent"},
			{"name": "Sam Lovelace", "email": "sam@home.example", "relationship": "parent"},
		},
	}, http.StatusCreated, &ada)
	sys.MustDo(t, http.MethodPost, base+"/students/"+ada.ID+"/class-assignment", admin,
		map[string]string{"classId": class.ID}, http.StatusOK, nil)
	pat, sam := commands.GuardianID(s.school, "pat@home.example"), commands.GuardianID(s.school, "sam@home.example")
	tinaToken := sys.Token(commands.RoleTeacher, s.school, tina.ID)

	// Attendance of the last week: present twice, absent twice (50%).
	for i, status := range []string{"present", "absent", "present", "absent"} {
		sys.MustDo(t, http.MethodPost, base+"/classes/"+class.ID+"/attendance", tinaToken, map[string]any{
			"date": domain.DateOf(sys.Clock.Now()).AddDays(-4 + i).String(), "period": 1,
			"entries": []map[string]string{{"studentId": ada.ID, "status": status}},
		}, http.StatusCreated, nil)
	}
	sys.Settle(t) // the directory counts the registers

	// mathematics 20: 0.30 + 1/3 × 0.20 + attendance 50% 0.25 = 0.62.
	sys.MustDo(t, http.MethodPost, base+"/students/"+ada.ID+"/performance", tinaToken, map[string]any{
		"subject": "mathematics", "grade": 20, "assessmentType": "quiz", "assessedAt": sys.Clock.Now().Format(time.RFC3339),
	}, http.StatusCreated, nil)
	recs := sys.Events(t, "performance-"+ada.ID)
	ev, err := domain.DecodeEvent(recs[0].Type, recs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	assessment := ev.(domain.PerformanceRecorded).AssessmentID
	perf := sys.WaitWorkflow(t, sagas.WorkflowID(sagas.StudentPerformanceSaga, assessment), sagas.StateCompleted)
	if !strings.HasPrefix(perf.Reason, "risk high (0.62): mathematics below the pass mark (20), attendance 50%") {
		t.Fatalf("student_performance: %s", systemtest.Describe(perf))
	}

	ivID := w2WaitInterventionWorkflow(s, ada.ID)
	iw := sys.WaitWorkflow(t, ivID, sagas.StateRunning)
	for iw.Step != "waiting_follow_up" {
		time.Sleep(20 * time.Millisecond)
		iw = sys.Workflow(t, ivID)
	}
	tinaMsgs := sys.WaitInbox(t, s.school, "teacher", tina.ID, 2)
	subjects := []string{tinaMsgs[0].Subject, tinaMsgs[1].Subject}
	slices.Sort(subjects)
	if want := []string{"Intervention for Ada Lovelace (5B) assigned to you", "Risk alert: Ada Lovelace (5B) assessed at high risk"}; !slices.Equal(subjects, want) {
		t.Fatalf("Tina's inbox %q, want %q", subjects, want)
	}
	for _, g := range []string{pat, sam} {
		msgs := sys.WaitInbox(t, s.school, "guardian", g, 2)
		for _, m := range msgs {
			if strings.Contains(m.Body, "weight") || strings.Contains(m.Body, "0.62") {
				t.Errorf("a guardian's message shows the analysis' figures: %s", m.Body)
			}
		}
	}

	// The at-risk board shows Ada, high, with the factors and the open
	// intervention.
	row := w2AtRisk(s, ada.ID, func(r projections.AtRiskStudent) bool {
		return r.Level == "high" && len(r.OpenInterventions) == 1
	})
	if row.Name != "Ada Lovelace" || row.Score == nil || *row.Score != 0.62 || len(row.Factors) != 3 ||
		row.OpenInterventions[0].AssignedTo != tina.ID || row.OpenInterventions[0].RiskLevel != "high" {
		t.Fatalf("at-risk row %+v", row)
	}

	// The service restarts while the intervention waits; the follow-up
	// date passes: escalated once, the office told.
	sys.RestartSagas(t)
	sys.Clock.Advance(15 * 24 * time.Hour)
	if n := sys.FireDue(t); n != 1 {
		t.Fatalf("%d deadlines fired, want the follow-up", n)
	}
	if n := sys.FireDue(t); n != 0 {
		t.Fatalf("%d more fired", n)
	}
	office := sys.WaitInbox(t, s.school, "admin", domain.OfficeRecipientID, 1)
	if !strings.HasPrefix(office[0].Subject, "Escalated: intervention for Ada Lovelace (5B)") {
		t.Fatalf("office message %q", office[0].Subject)
	}

	// The administrator closes it: the workflow completes with their
	// outcome and note.
	var data struct {
		InterventionID string `json:"interventionId"`
	}
	if err := json.Unmarshal(sys.Workflow(t, ivID).Data, &data); err != nil {
		t.Fatal(err)
	}
	sys.MustDo(t, http.MethodPost, base+"/interventions/"+data.InterventionID+"/closure", admin,
		map[string]string{"outcome": "escalated", "note": "handed to the school counsellor"}, http.StatusOK, nil)
	iw = sys.WaitWorkflow(t, ivID, sagas.StateCompleted)
	if iw.Reason != "intervention closed by admin-1 as escalated: handed to the school counsellor" {
		t.Fatalf("intervention workflow: %s", systemtest.Describe(iw))
	}
	hw := s.httpWorkflow(base+"/workflows/"+ivID, admin)
	if hw.State != sagas.StateCompleted || !slices.Contains(stepNames(hw), "escalated") {
		t.Fatalf("GET workflow: %+v", hw.WorkflowSummary)
	}

	sys.Settle(t)
	for typ, want := range map[string]int{domain.RiskAssessedType: 1, domain.InterventionOpenedType: 1,
		domain.InterventionEscalatedType: 1, domain.InterventionClosedType: 1,
		domain.MessageSentType: 2 + 2 + 1} { // risk: Tina, guardians; intervention: Tina, guardians; office
		if n := sys.CountEvents(t, typ); n != want {
			t.Errorf("%d %s, want %d", n, typ, want)
		}
	}
}
