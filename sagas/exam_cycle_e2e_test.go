package sagas_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// TestW3ExamCycleEndToEnd: an exam cycle scheduled over HTTP; the teacher
// records one result, the admin the last; the workflow publishes, both
// guardians find the report card in their inbox, the analysis is on the
// performance channel, and the workflow's status says so.
func TestW3ExamCycleEndToEnd(t *testing.T) {
	t.Parallel()
	s := w3StartSystem(t, sagas.NewExamCycle)
	tom := w3Teacher(s, "Tom Weber", "mathematics")
	class := s.create(s.path("/classes"), s.admin, map[string]any{"name": "5A", "gradeLevel": 5, "capacity": 30,
		"subjects": []any{map[string]any{"subject": "mathematics", "teacherId": tom}}})
	anna, maria := w3Student(s, "Anna Berg", class, "Maria Berg")
	ben, paul := w3Student(s, "Ben Kern", class, "Paul Kern")

	exam := s.create(s.path("/exams"), s.admin, map[string]any{"name": "Autumn tests", "term": "2026-autumn",
		"subjects": []string{"mathematics"}, "classIds": []string{class}, "startDate": "2026-09-07", "endDate": "2026-09-11"})
	id := sagas.WorkflowID("exam_cycle_complete", exam)
	s.waitStep(id, "roster")
	teacher := s.Token(commands.RoleTeacher, s.school, tom)
	s.MustDo(t, http.MethodPost, s.path("/exams/", exam, "/results"), teacher, map[string]any{"results": []any{
		map[string]any{"studentId": anna, "subject": "mathematics", "grade": 81}}}, http.StatusOK, nil)
	s.waitStep(id, "results_recorded")
	s.RestartSagas(t)
	s.MustDo(t, http.MethodPost, s.path("/exams/", exam, "/results"), s.admin, map[string]any{"results": []any{
		map[string]any{"studentId": ben, "subject": "mathematics", "grade": 44}}}, http.StatusOK, nil)

	w := s.WaitWorkflow(t, id, sagas.StateCompleted)
	if !strings.HasPrefix(w.Reason, "results published by saga:exam_cycle_complete (2 results of 2 students); report cards of 2 students sent to 2 guardians") {
		t.Errorf("reason: %s", w.Reason)
	}
	for g, want := range map[string]string{maria: "Anna Berg's report card", paul: "Ben Kern's report card"} {
		msgs := s.WaitInbox(t, s.school, "guardian", g, 1)
		if !strings.Contains(msgs[0].Subject, want) {
			t.Errorf("guardian %s: %q", g, msgs[0].Subject)
		}
	}
	s.Settle(t)
	for typ, want := range map[string]int{domain.ExamResultsPublishedType: 1, domain.ExamResultsAnalyzedType: 1, domain.MessageSentType: 2} {
		if n := s.CountEvents(t, typ); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
	hw := s.httpWorkflow(s.path("/workflows/", id), s.admin)
	if hw.State != sagas.StateCompleted || hw.Steps[len(hw.Steps)-2].Step != "results_analyzed" {
		t.Errorf("GET workflow: %+v", hw.WorkflowSummary)
	}
}
