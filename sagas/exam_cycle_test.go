package sagas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

const w3Exam = "exam_cycle_complete"

// w3ExamState is the part of the workflow's data the tests read.
type w3ExamState struct {
	DueAt     time.Time `json:"resultsDueAt"`
	Students  int       `json:"students"`
	Expected  int       `json:"expected"`
	Recorded  int       `json:"recorded"`
	Reminders int       `json:"reminders"`
	Waiting   bool      `json:"waitingForAdmin"`
}

// w3ExamSchool: classes 5A (mathematics: Tom, english: Eva) and 5B
// (mathematics: Tom, english: nobody); Anna and Ben in 5A, Carl and Dana
// in 5B; Maria is the guardian of Anna and Carl, Paul of Ben, Rita of Dana.
type w3ExamSchool struct {
	*w3School
	tom, eva              string
	a5, b5                string
	anna, ben, carl, dana string
	maria, paul, rita     string
	exam                  string
}

func w3NewExamSchool(t *testing.T, w *w3World) *w3ExamSchool {
	t.Helper()
	w.at(w3UTC(2026, 9, 7, 7, 0)) // Monday
	s := &w3ExamSchool{w3School: w.school("Lindenschule", "Europe/Berlin")}
	s.tom = s.teacher("Tom Weber", "mathematics")
	s.eva = s.teacher("Eva Roth", "english")
	s.a5 = s.class("5A", map[string]string{"mathematics": s.tom, "english": s.eva})
	s.b5 = s.class("5B", map[string]string{"mathematics": s.tom, "english": ""})
	var gs []string
	s.anna, gs = s.student("Anna Berg", s.a5, "Maria Berg")
	s.maria = gs[0]
	s.ben, gs = s.student("Ben Kern", s.a5, "Paul Kern")
	s.paul = gs[0]
	s.carl, _ = s.student("Carl Berg", s.b5, "Maria Berg") // the same guardian as Anna
	s.dana, gs = s.student("Dana Vogt", s.b5, "Rita Vogt")
	s.rita = gs[0]
	s.exam = uuid.NewString()
	w.must(commands.NewScheduleExamHandler(w.repo).Handle(w.ctx, s.admin(), commands.ScheduleExam{
		ExamID: s.exam, Name: "Autumn tests", Term: "2026-autumn", Subjects: []string{"mathematics", "english"},
		ClassIDs: []string{s.a5, s.b5}, StartDate: "2026-09-07", EndDate: "2026-09-11"}))
	return s
}

// record records grades ("student:subject:grade" as student IDs) as who.
func (s *w3ExamSchool) record(m commands.Meta, results map[string]map[string]float64) {
	s.w.t.Helper()
	var in []domain.ExamResultInput
	for student, bySubject := range results {
		for subject, g := range bySubject {
			in = append(in, domain.ExamResultInput{StudentID: student, Subject: subject, Grade: g})
		}
	}
	s.w.must(commands.NewRecordExamResultsHandler(s.w.repo).Handle(s.w.ctx, m, commands.RecordExamResults{ExamID: s.exam, Results: in}))
}

func (s *w3ExamSchool) mathematics() {
	s.record(s.teacherMeta(s.tom), map[string]map[string]float64{
		s.anna: {"mathematics": 81}, s.ben: {"mathematics": 45}, s.carl: {"mathematics": 67}, s.dana: {"mathematics": 90}})
}

// TestW3ExamCycle: the results come in over three recordings; the last
// one completes the roster, the workflow publishes, every guardian is told
// once (Maria once for her two children), the analysis is recorded and the
// workflow completes; the reminder deadline, met in time, does nothing.
// Every event is delivered twice and the service restarts between steps.
func TestW3ExamCycle(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewExamCycle)
	w.twice = true
	s := w3NewExamSchool(t, w)
	w.pump()
	wf := w.workflow(w3Exam, s.exam)
	st := workflowData[w3ExamState](t, wf)
	// Due at the end of Friday 11 September in Berlin + 72 h.
	if st.Students != 4 || st.Expected != 8 || st.Recorded != 0 || !st.DueAt.Equal(w3UTC(2026, 9, 14, 22, 0)) {
		t.Errorf("roster: %+v", st)
	}
	if r := stepReason(t, wf, "roster"); !strings.Contains(r, "4 students in 2 classes × 2 subjects (mathematics, english): 8 results expected") {
		t.Errorf("roster: %s", r)
	}

	s.mathematics()
	w.pump()
	w.restart()
	s.record(s.teacherMeta(s.eva), map[string]map[string]float64{s.anna: {"english": 72}, s.ben: {"english": 58}})
	w.pump()
	wf = w.workflow(w3Exam, s.exam)
	if r := wf.Steps[len(wf.Steps)-1].Reason; !strings.Contains(r, "6 of 8 results recorded") || !strings.Contains(r, "missing: 5B english (2)") {
		t.Errorf("progress: %s", r)
	}
	w.restart()
	s.record(s.admin(), map[string]map[string]float64{s.carl: {"english": 49}, s.dana: {"english": 77}})
	w.pump()

	wf = w.workflow(w3Exam, s.exam)
	if wf.State != sagas.StateCompleted {
		t.Fatalf("state %s at %s: %s", wf.State, wf.Step, wf.Reason)
	}
	for _, st := range wf.Steps {
		t.Logf("%s: %s", st.Step, st.Reason)
	}
	if got := strings.Join(stepNames(wf), " "); got != "roster results_recorded results_recorded results_recorded results_published guardians_notified results_analyzed completed" {
		t.Errorf("steps: %s", got)
	}
	if r := stepReason(t, wf, "guardians_notified"); r != "report cards of 4 students sent to 3 guardians" {
		t.Errorf("guardians: %s", r)
	}
	for typ, want := range map[string]int{domain.ExamResultsPublishedType: 1, domain.ExamResultsAnalyzedType: 1, domain.MessageSentType: 3} {
		if n := len(w.events(typ)); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
	maria := w.messagesTo(domain.RecipientGuardian, s.maria)
	if len(maria) != 1 || !strings.Contains(maria[0].Body, "Anna Berg's report card") || !strings.Contains(maria[0].Body, "Carl Berg's report card") ||
		!strings.Contains(maria[0].Body, "49  below the pass mark") {
		t.Errorf("Maria's messages: %+v", maria)
	}
	if got := deadlineStates(wf); strings.Join(got, " ") != "results_due:cancelled" {
		t.Errorf("deadlines: %v", got)
	}
	w.at(w3UTC(2026, 9, 20, 0, 0))
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d deadlines after the publication", n)
	}
}

// TestW3ExamCycleReminders: results are missing at the deadline; the
// teachers of the class subjects concerned (the office for the one nobody
// teaches) are reminded by name, every 2 days, 3 times, across restarts,
// each reminder once; then the office is asked to publish and the
// workflow waits; an administrator publishes and the workflow completes.
func TestW3ExamCycleReminders(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewExamCycle)
	s := w3NewExamSchool(t, w)
	s.mathematics()
	s.record(s.teacherMeta(s.eva), map[string]map[string]float64{s.anna: {"english": 72}})
	w.pump()

	due := w3UTC(2026, 9, 14, 22, 0)
	w.at(due.Add(-time.Minute))
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d before the deadline", n)
	}
	w.at(due)
	w.restart()
	if n := w.fire(); n != 1 {
		t.Fatalf("fired %d at the deadline, want 1", n)
	}
	w.restart()
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d again after a restart", n)
	}
	eva := w.messagesTo(domain.RecipientTeacher, s.eva)
	if len(eva) != 1 || !strings.Contains(eva[0].Body, "5A:\n- Ben Kern (english)") || strings.Contains(eva[0].Body, "Carl") {
		t.Fatalf("Eva's reminder: %+v", eva)
	}
	office := w.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)
	if len(office) != 1 || !strings.Contains(office[0].Body, "5B:\n- Carl Berg (english)\n- Dana Vogt (english)") {
		t.Fatalf("the office's reminder: %+v", office)
	}
	if len(w.messagesTo(domain.RecipientTeacher, s.tom)) != 0 {
		t.Error("Tom, who recorded everything, was reminded")
	}

	// Eva catches up; 5B's english is still missing at the next checks.
	s.record(s.teacherMeta(s.eva), map[string]map[string]float64{s.ben: {"english": 58}})
	w.pump()
	for i := 2; i <= 3; i++ {
		w.at(due.Add(time.Duration(i-1) * 48 * time.Hour))
		if n := w.fire(); n != 1 {
			t.Fatalf("check %d: fired %d, want 1", i, n)
		}
	}
	w.at(due.Add(30 * 24 * time.Hour))
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d after the last reminder", n)
	}
	wf := w.workflow(w3Exam, s.exam)
	st := workflowData[w3ExamState](t, wf)
	if wf.State != sagas.StateRunning || wf.Step != "waiting_for_admin" || !st.Waiting || st.Reminders != 3 {
		t.Fatalf("after the reminders: %s at %s (%+v): %s", wf.State, wf.Step, st, wf.Reason)
	}
	if got := len(w.messagesTo(domain.RecipientTeacher, s.eva)); got != 1 {
		t.Errorf("Eva got %d reminders, want 1", got)
	}
	if got := len(w.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)); got != 4 {
		t.Errorf("the office got %d messages, want 3 reminders and the hand-over", got)
	}

	// An administrator publishes what there is.
	w.must(commands.NewPublishExamResultsHandler(w.repo).Handle(w.ctx, s.admin(), commands.PublishExamResults{ExamID: s.exam}))
	w.pump()
	wf = w.workflow(w3Exam, s.exam)
	if wf.State != sagas.StateCompleted || !strings.HasPrefix(wf.Reason, "results published by admin-1 (6 results of 4 students)") {
		t.Errorf("%s: %s", wf.State, wf.Reason)
	}
	if got := deadlineStates(wf); strings.Join(got, " ") != "results_due:fired results_due:fired results_due:fired" {
		t.Errorf("deadlines: %v", got)
	}
}

// TestW3ExamCycleGuardianRefused: a guardian the notifier refuses for good
// is named in the history; the others get their report cards and the
// workflow completes.
func TestW3ExamCycleGuardianRefused(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewExamCycle)
	s := w3NewExamSchool(t, w)
	w.note.refuse(domain.RecipientGuardian, s.paul)
	s.mathematics()
	s.record(s.admin(), map[string]map[string]float64{s.anna: {"english": 72}, s.ben: {"english": 58},
		s.carl: {"english": 49}, s.dana: {"english": 77}})
	w.pump()
	wf := w.workflow(w3Exam, s.exam)
	if wf.State != sagas.StateCompleted {
		t.Fatalf("%s at %s: %s", wf.State, wf.Step, wf.Reason)
	}
	want := "report cards of 4 students sent to 2 guardians; refused for 1: " + s.paul + " (recipients: guardian " + s.paul + " has no inbox)"
	if r := stepReason(t, wf, "guardians_notified"); r != want {
		t.Errorf("guardians:\n got %s\nwant %s", r, want)
	}
	if len(w.messagesTo(domain.RecipientGuardian, s.rita)) != 1 {
		t.Error("Rita got no report card")
	}
}
