package sagas_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

func w2Risk(f *w2Fixture) []domain.RiskAssessed {
	return decoded[domain.RiskAssessed](f.world, domain.RiskAssessedType)
}

func TestStudentPerformanceLowRisk(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	id := f.record(f.student, "english", 75)
	f.pump()

	w := f.workflow(sagas.StudentPerformanceSaga, id)
	wantState(t, w, sagas.StateCompleted, "risk low (0.00)")
	if !strings.Contains(w.Reason, "no one notified") {
		t.Errorf("reason %q does not say no one was notified", w.Reason)
	}
	if got, want := stepNames(w), []string{"analysed", "risk_assessed", "completed"}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	risks := w2Risk(f)
	if len(risks) != 1 || risks[0].Level != domain.RiskLow || risks[0].Basis.AssessmentID != id || risks[0].Method != "rule-based-v1" {
		t.Fatalf("risk events %+v", risks)
	}
	if b := risks[0].Basis; b.Subjects != 1 || b.AttendanceRate != 1 || b.AttendanceTo.String() != "2026-09-07" || b.AttendanceFrom.String() != "2026-08-09" {
		t.Errorf("basis %+v: want 1 subject, attendance 1 over 2026-08-09..2026-09-07", b)
	}
	if len(f.messages()) != 0 {
		t.Errorf("messages %v, want none at low risk", w2Recipients(f.messages()))
	}
	if w.SchoolID != f.school {
		t.Errorf("school %q, want %q", w.SchoolID, f.school)
	}
}

func TestStudentPerformanceMediumRiskTellsTheTeacherOnly(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	// mark 35: (50−35)/20 × 0.30 + 1/3 × 0.20 = 0.29 → medium.
	id := f.record(f.student, "mathematics", 35)
	f.pump()

	w := f.workflow(sagas.StudentPerformanceSaga, id)
	wantState(t, w, sagas.StateCompleted, "risk medium (0.29): mathematics below the pass mark (35)")
	ms := f.messages()
	if got, want := w2Recipients(ms), []string{"teacher:" + f.mathTeacher}; !slices.Equal(got, want) {
		t.Fatalf("recipients %v, want %v", got, want)
	}
	m := ms[0]
	for _, s := range []string{"Ada Lovelace (5B)", "medium risk (score 0.29)", "grade_level: 35, weight 0.3 — mathematics is below the pass mark 50",
		"rule-based score (rule-based-v1)", "No machine learning"} {
		if !strings.Contains(m.Subject+"\n"+m.Body, s) {
			t.Errorf("teacher message lacks %q:\n%s\n%s", s, m.Subject, m.Body)
		}
	}
	if m.Category != domain.CategoryPerformance || m.RelatedTo != "student-"+f.student || m.From != "saga:student_performance" {
		t.Errorf("message %+v", m)
	}
	// No intervention at medium risk.
	if ws := f.interventionWorkflows(f.student); len(ws) != 0 {
		t.Fatalf("intervention workflows %v at medium risk", ws)
	}
	var st struct {
		Level    string   `json:"level"`
		Teachers []string `json:"notifiedTeachers"`
	}
	if err := json.Unmarshal(w.Data, &st); err != nil || st.Level != "medium" || !slices.Equal(st.Teachers, []string{f.mathTeacher}) {
		t.Errorf("data %s (%v)", w.Data, err)
	}
}

func TestStudentPerformanceHighRiskTellsTeachersAndGuardians(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	for _, g := range []float64{70, 62, 55} { // falling 7.5 a time, each low
		f.record(f.student, "english", g)
		f.pump()
	}
	if ms := f.messages(); len(ms) != 0 {
		t.Fatalf("messages %v at low risk", w2Recipients(ms))
	}
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 14, Late: 1, Absent: 10, Excused: 2})
	id := f.record(f.student, "mathematics", 20)
	f.pump()

	w := f.workflow(sagas.StudentPerformanceSaga, id)
	// mathematics 20 → 0.30; 1 of 2 subjects → 0.067; english −7.5 a
	// time → 0.1875; attendance 15/25 = 60% → 0.25.
	wantState(t, w, sagas.StateCompleted, "risk high (0.80): mathematics below the pass mark (20), attendance 60%, "+
		"english falling 7.5 points per assessment, 1 subject below the pass mark")
	if got, want := stepNames(w), []string{"analysed", "risk_assessed", "teachers_notified", "guardians_notified", "completed"}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	risks := w2Risk(f)
	last := risks[len(risks)-1]
	if last.Level != domain.RiskHigh || last.Score != 0.8 || last.Basis.AttendanceRate != 0.6 || last.Basis.Subjects != 2 || last.Basis.AssessmentID != id {
		t.Fatalf("risk %+v", last)
	}
	names := map[string]bool{}
	for _, fa := range last.Factors {
		names[fa.Name] = true
		if fa.Reason == "" || fa.Weight <= 0 {
			t.Errorf("factor %+v has no reason or weight", fa)
		}
	}
	for _, n := range []string{"grade_level", "subjects_below_pass_mark", "grade_trend", "attendance_rate"} {
		if !names[n] {
			t.Errorf("no factor %s in %+v", n, last.Factors)
		}
	}

	// The risk messages: the teachers of the subjects of concern
	// (mathematics, english) in one message, then the guardians.
	var risk []domain.MessageSent
	for _, m := range f.messages() {
		if m.Category == domain.CategoryPerformance {
			risk = append(risk, m)
		}
	}
	want := []string{"teacher:" + f.mathTeacher + ",teacher:" + f.englishTeacher,
		"guardian:" + f.guardians[0] + ",guardian:" + f.guardians[1]}
	if got := w2Recipients(risk); !slices.Equal(got, want) {
		t.Fatalf("risk messages to %v, want %v", got, want)
	}
	teacher := risk[0]
	for _, s := range []string{"grade_trend: -7.5, weight 0.25 — english fell 7.5 points per assessment over the last 3 (70, 62, 55)",
		"attendance_rate: 0.6, weight 0.25"} {
		if !strings.Contains(teacher.Body, s) {
			t.Errorf("teacher message lacks %q:\n%s", s, teacher.Body)
		}
	}
	g := risk[1]
	for _, s := range []string{"About Ada Lovelace's progress at school", "grades in mathematics are below the pass mark",
		"grades in english have gone down", "attended 60% of school days in the last 30 days",
		"please contact Teacher maths@hillside.example", "Hillside"} {
		if !strings.Contains(g.Subject+"\n"+g.Body, s) {
			t.Errorf("guardian message lacks %q:\n%s\n%s", s, g.Subject, g.Body)
		}
	}
	if strings.Contains(g.Body, "weight") || strings.Contains(g.Body, "0.8") {
		t.Errorf("guardian message shows weights or scores:\n%s", g.Body)
	}
}

// TestStudentPerformanceReadsTheRecordUpToItsAssessment: the analysis of
// an assessment reads the grades recorded up to it, even when it runs
// after later ones were recorded.
func TestStudentPerformanceReadsTheRecordUpToItsAssessment(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	first := f.record(f.student, "mathematics", 90)
	f.record(f.student, "mathematics", 10)
	f.pump()
	w := f.workflow(sagas.StudentPerformanceSaga, first)
	wantState(t, w, sagas.StateCompleted, "risk low (0.00)")
	risks := w2Risk(f)
	if len(risks) != 2 || risks[0].Level != domain.RiskLow || risks[1].Level == domain.RiskLow {
		t.Fatalf("risk levels %v %v, want low then not low", risks[0].Level, risks[1].Level)
	}
}

// TestStudentPerformanceRedelivery: every event delivered twice, and the
// whole log once more afterwards, gives the same result, each command and
// message once.
func TestStudentPerformanceRedelivery(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	f.twice = true
	low := f.record(f.student, "english", 80) // low
	f.pump()
	medium := f.record(f.student, "mathematics", 35) // 0.29: medium
	f.pump()
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 15, Absent: 10})
	high := f.record(f.student, "physics", 5) // 0.30 + 2/3 × 0.20 + 0.25 = 0.68: high
	f.pump()
	f.repump()

	wantState(t, f.workflow(sagas.StudentPerformanceSaga, low), sagas.StateCompleted, "risk low")
	wantState(t, f.workflow(sagas.StudentPerformanceSaga, medium), sagas.StateCompleted, "risk medium (0.29)")
	wantState(t, f.workflow(sagas.StudentPerformanceSaga, high), sagas.StateCompleted, "risk high (0.68)")
	f.wantCount("risk.assessed.v1", 3)
	f.wantCount("intervention.opened.v1", 1)
	// medium: the mathematics teacher; high: the mathematics teacher
	// (physics has none) and the guardians; the intervention: its
	// teacher and the guardians.
	guardians := "guardian:" + f.guardians[0] + ",guardian:" + f.guardians[1]
	want := []string{"teacher:" + f.mathTeacher, "teacher:" + f.mathTeacher, guardians, "teacher:" + f.mathTeacher, guardians}
	if got := w2Recipients(f.messages()); !slices.Equal(got, want) {
		t.Fatalf("messages to %v, want %v", got, want)
	}
	if ws := f.interventionWorkflows(f.student); len(ws) != 1 || ws[0].State != sagas.StateRunning {
		t.Fatalf("intervention workflows %+v, want one running", ws)
	}
}

// TestStudentPerformanceCrashBetweenSteps: the notifier fails after the
// risk was recorded (a crash between two steps); the event is handled
// again and the workflow completes with the risk recorded once.
func TestStudentPerformanceCrashBetweenSteps(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	id := f.record(f.student, "mathematics", 35)
	evs := f.events("performance.recorded.v1")
	e := evs[len(evs)-1]
	f.note.failNext(1)
	err := f.rt.Handle(f.ctx, sagas.StudentPerformanceSaga, e)
	if !errors.Is(err, errNotifierDown) {
		t.Fatalf("handle: %v, want the notifier's failure", err)
	}
	f.wantCount("risk.assessed.v1", 1) // the command went through before the crash
	if _, err := sagas.GetWorkflow(f.ctx, f.pool, sagas.WorkflowID(sagas.StudentPerformanceSaga, id)); err == nil {
		// The instance's creation was rolled back with the rest.
		t.Fatalf("the instance exists after a rolled-back handling")
	}
	f.restart()
	f.pump()
	w := f.workflow(sagas.StudentPerformanceSaga, id)
	wantState(t, w, sagas.StateCompleted, "risk medium")
	f.wantCount("risk.assessed.v1", 1)
	f.wantCount("message.sent.v1", 1)
}

// TestStudentPerformanceWithdrawnStudent: a withdrawn student is not
// assessed; the workflow says so.
func TestStudentPerformanceWithdrawnStudent(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	id := f.record(f.student, "mathematics", 20)
	f.must(commands.NewWithdrawStudentHandler(f.repo).Handle(f.ctx, f.admin(), commands.WithdrawStudent{StudentID: f.student, Reason: "moved"}))
	f.pump()
	wantState(t, f.workflow(sagas.StudentPerformanceSaga, id), sagas.StateCompleted, "is withdrawn: no risk assessment")
	f.wantCount("risk.assessed.v1", 0)
}
