package sagas_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

const w2Day = 24 * time.Hour

// w2IvData is the part of the intervention workflow's data the tests read.
type w2IvData struct {
	InterventionID string      `json:"interventionId"`
	Origin         string      `json:"origin"`
	AssignedTo     string      `json:"assignedTo"`
	Plan           []string    `json:"plan"`
	FollowUpDue    domain.Date `json:"followUpDue"`
	Escalations    int         `json:"escalations"`
}

// highRisk records a grade that puts the fixture's student at high risk
// (mathematics 20 with 60% attendance: 0.30 + 0.067 + 0.25 = 0.62) and
// returns the student's intervention workflow.
func (f *w2Fixture) highRisk() sagas.Workflow {
	f.t.Helper()
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 15, Absent: 10})
	f.record(f.student, "mathematics", 20)
	f.pump()
	ws := f.interventionWorkflows(f.student)
	if len(ws) != 1 {
		f.t.Fatalf("%d intervention workflows, want 1", len(ws))
	}
	return ws[0]
}

func (f *w2Fixture) intervention(id string) *domain.Intervention {
	return load(f.world, domain.NewIntervention(id))
}

func (f *w2Fixture) followUp(interventionID, next string) {
	f.t.Helper()
	f.must(commands.NewRecordInterventionFollowUpHandler(f.repo).Handle(f.ctx, f.as(f.mathTeacher, commands.RoleTeacher),
		commands.RecordInterventionFollowUp{InterventionID: interventionID, Note: "Met Ada; catch-up work agreed", NextFollowUpDue: next}))
}

func TestInterventionWorkflowOpensOnHighRisk(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	opened := f.clock.Now().Add(time.Hour) // highRisk records an hour on
	w := f.highRisk()

	wantState(t, w, sagas.StateRunning, "")
	if got, want := stepNames(w), []string{"intervention_opened", "teacher_notified", "guardians_informed", "waiting_follow_up"}; !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if w.Subject != "student-"+f.student || w.SchoolID != f.school {
		t.Errorf("subject %q school %q", w.Subject, f.school)
	}
	d := workflowData[w2IvData](t, w)
	iv := f.intervention(d.InterventionID)
	due := domain.DateOf(opened.Add(14 * w2Day))
	switch {
	case iv.Status() != domain.InterventionStatusOpen, iv.AssignedTo() != f.mathTeacher, iv.RiskLevel() != domain.RiskHigh,
		!iv.FollowUpDue().Equal(due), iv.StudentID() != f.student:
		t.Fatalf("intervention %s: status %s assigned %s risk %s due %s, want open, %s, high, %s", d.InterventionID,
			iv.Status(), iv.AssignedTo(), iv.RiskLevel(), iv.FollowUpDue(), f.mathTeacher, due)
	}
	// One plan item per factor that added to the score, each naming it.
	plan := iv.Plan()
	wantFactors := []string{"grade_level", "attendance_rate", "subjects_below_pass_mark"}
	if len(plan) != len(wantFactors) {
		t.Fatalf("plan %q, want one item for each of %v", plan, wantFactors)
	}
	for i, name := range wantFactors {
		if !strings.Contains(plan[i], "(factor "+name+")") {
			t.Errorf("plan item %d %q does not name factor %s", i, plan[i], name)
		}
	}
	if !strings.Contains(plan[0], "mathematics is below the pass mark 50") || !strings.Contains(plan[1], "attended 60%") {
		t.Errorf("plan items do not carry the factors' reasons: %q", plan)
	}
	if !strings.Contains(iv.Reason(), "Risk assessed high (0.62)") || !strings.Contains(iv.Reason(), "rule-based-v1") {
		t.Errorf("reason %q", iv.Reason())
	}
	// The deadline is at the end of the follow-up date.
	if len(w.Deadlines) != 1 || w.Deadlines[0].Name != "follow_up" || !w.Deadlines[0].DueAt.Equal(due.AddDays(1).Time()) ||
		w.Deadlines[0].State != sagas.DeadlinePending {
		t.Fatalf("deadlines %+v, want follow_up pending at %s", w.Deadlines, due.AddDays(1).Time())
	}

	var ivMsgs []domain.MessageSent
	for _, m := range f.messages() {
		if m.Category == domain.CategoryIntervention {
			ivMsgs = append(ivMsgs, m)
		}
	}
	want := []string{"teacher:" + f.mathTeacher, "guardian:" + f.guardians[0] + ",guardian:" + f.guardians[1]}
	if got := w2Recipients(ivMsgs); !slices.Equal(got, want) {
		t.Fatalf("intervention messages to %v, want %v", got, want)
	}
	if body := ivMsgs[0].Body; !strings.Contains(body, "1. Catch-up support (factor grade_level)") ||
		!strings.Contains(body, "by "+due.Time().Format("Monday 2 January 2006")) || !strings.Contains(body, "Why: Risk assessed high (0.62)") {
		t.Errorf("teacher message:\n%s", body)
	}
	if body := ivMsgs[1].Body; strings.Contains(body, "factor") || strings.Contains(body, "0.62") || !strings.Contains(body, "Catch-up support") {
		t.Errorf("guardian message shows the analysis' internals or lacks the plan:\n%s", body)
	}
	if ivMsgs[0].From != "saga:ai_intervention_workflow" {
		t.Errorf("from %q", ivMsgs[0].From)
	}

	// A second high risk while it runs opens nothing more.
	f.record(f.student, "mathematics", 15)
	f.pump()
	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "risk_still_high" || len(f.interventionWorkflows(f.student)) != 1 {
		t.Fatalf("step %s, %d workflows", w.Step, len(f.interventionWorkflows(f.student)))
	}
	f.wantCount("intervention.opened.v1", 1)
}

// TestInterventionWorkflowEscalatesAfterRestartOnce: the follow-up
// deadline passes while the service is down; after the restart it fires
// once, whichever runtime asks, escalates to the office, and reminds it
// each further period, three notices at most.
func TestInterventionWorkflowEscalatesAfterRestartOnce(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	w := f.highRisk()
	d := workflowData[w2IvData](t, w)
	old := f.rt
	f.restart()

	if n := f.fireAfter(14 * w2Day); n != 0 {
		t.Fatalf("%d deadlines fired before the end of the due date", n)
	}
	if n := f.fireAfter(w2Day); n != 1 {
		t.Fatalf("%d deadlines fired at the end of the due date, want 1", n)
	}
	for _, rt := range []*sagas.Runtime{old, f.rt} {
		if n, err := rt.FireDue(f.ctx); err != nil || n != 0 {
			t.Fatalf("fired %d more (%v)", n, err)
		}
	}
	f.pump()
	f.wantCount("intervention.escalated.v1", 1)
	office := f.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)
	if len(office) != 1 || !strings.HasPrefix(office[0].Subject, "Escalated: intervention for Ada Lovelace (5B)") || !strings.Contains(office[0].Body, "no follow-up of intervention "+d.InterventionID+" was recorded by "+d.FollowUpDue.String()) {
		t.Fatalf("office messages %+v", office)
	}
	if !f.intervention(d.InterventionID).Escalated() {
		t.Fatal("intervention not escalated")
	}
	w = f.workflow(w.Type, w.BusinessID)
	wantState(t, w, sagas.StateRunning, "")
	if got := stepNames(w)[4:]; !slices.Equal(got, []string{"escalated", "office_notified", "waiting_follow_up"}) {
		t.Fatalf("steps %v", stepNames(w))
	}

	// Each further period without a follow-up reminds the office, up to
	// three notices in a row.
	if n := f.fireAfter(15 * w2Day); n != 1 {
		t.Fatalf("second period: %d fired", n)
	}
	if n := f.fireAfter(15 * w2Day); n != 1 {
		t.Fatalf("third period: %d fired", n)
	}
	if n := f.fireAfter(30 * w2Day); n != 0 {
		t.Fatalf("after three notices: %d fired", n)
	}
	f.wantCount("intervention.escalated.v1", 1)
	if office := f.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID); len(office) != 3 || !strings.HasPrefix(office[2].Subject, "Reminder:") {
		t.Fatalf("%d office messages, want 3 with reminders", len(office))
	}
	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "reminders_exhausted" || w.State != sagas.StateRunning {
		t.Fatalf("step %s state %s", w.Step, w.State)
	}

	// A follow-up starts the count again.
	f.followUp(d.InterventionID, "")
	f.pump()
	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "waiting_follow_up" || workflowData[w2IvData](t, w).Escalations != 0 || !strings.Contains(w.Steps[len(w.Steps)-1].Reason, "no next date given") {
		t.Fatalf("after the follow-up: step %s data %s", w.Step, w.Data)
	}
}

// TestInterventionWorkflowFollowUpInTime: a follow-up recorded in time
// moves the deadline; the old due date passes without escalation, the new
// one escalates.
func TestInterventionWorkflowFollowUpInTime(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	w := f.highRisk()
	d := workflowData[w2IvData](t, w)
	f.clock.Advance(10 * w2Day)
	next := domain.DateOf(f.clock.Now().Add(20 * w2Day))
	f.followUp(d.InterventionID, next.String())
	f.pump()

	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "waiting_follow_up" || !workflowData[w2IvData](t, w).FollowUpDue.Equal(next) {
		t.Fatalf("step %s due %s, want the follow-up's %s", w.Step, workflowData[w2IvData](t, w).FollowUpDue, next)
	}
	if n := f.fireAfter(10 * w2Day); n != 0 { // past the first due date
		t.Fatalf("%d fired after a follow-up in time", n)
	}
	f.wantCount("intervention.escalated.v1", 0)
	if n := f.fireAfter(11 * w2Day); n != 1 { // past the end of the new one
		t.Fatalf("%d fired at the new due date, want 1", n)
	}
	f.wantCount("intervention.escalated.v1", 1)
}

// TestInterventionWorkflowFollowUpNotYetDelivered: the deadline fires
// before the follow-up's event reached the workflow: it reads the
// intervention and does not escalate; the event, when it comes, changes
// nothing more.
func TestInterventionWorkflowFollowUpNotYetDelivered(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	w := f.highRisk()
	d := workflowData[w2IvData](t, w)
	f.clock.Advance(14 * w2Day)
	f.followUp(d.InterventionID, "") // on the due date: in time
	if n := f.fireAfter(w2Day); n != 1 {
		t.Fatalf("%d fired", n)
	}
	f.wantCount("intervention.escalated.v1", 0)
	w = f.workflow(w.Type, w.BusinessID)
	if !strings.Contains(w.Steps[len(w.Steps)-1].Reason, "was recorded in time") {
		t.Fatalf("last step %+v", w.Steps[len(w.Steps)-1])
	}
	f.pump()
	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "follow_up_seen" || len(w.Deadlines) != 2 || w.Deadlines[1].State != sagas.DeadlinePending {
		t.Fatalf("step %s deadlines %+v", w.Step, w.Deadlines)
	}
}

// TestInterventionWorkflowClosedByALaterLowRisk: a medium assessment
// keeps it open; a low one closes it as resolved, citing the assessment.
func TestInterventionWorkflowClosedByALaterLowRisk(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	w := f.highRisk()
	d := workflowData[w2IvData](t, w)

	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 20})
	f.record(f.student, "mathematics", 30) // mark 25 → 0.375 + 0.067: medium
	f.pump()
	w = f.workflow(w.Type, w.BusinessID)
	if w.Step != "risk_medium" || w.State != sagas.StateRunning {
		t.Fatalf("step %s state %s after a medium risk", w.Step, w.State)
	}
	low := f.record(f.student, "mathematics", 95) // mark min(95, 48.3) → 0.025 + 0.067: low
	f.record(f.student, "mathematics", 95)        // mark 60: low
	f.pump()

	w = f.workflow(w.Type, w.BusinessID)
	wantState(t, w, sagas.StateCompleted, "risk down to low (0.09)")
	iv := f.intervention(d.InterventionID)
	if iv.Status() != domain.InterventionStatusClosed || iv.Outcome() != domain.OutcomeResolved {
		t.Fatalf("intervention %s %s", iv.Status(), iv.Outcome())
	}
	closed := f.events("intervention.closed.v1")
	ev, _ := domain.DecodeEvent(closed[0].Type, closed[0].Data)
	if note := ev.(domain.InterventionClosed).Note; !strings.Contains(note, "Risk assessed low (0.09)") || !strings.Contains(note, "after assessment "+low) {
		t.Fatalf("note %q does not cite the assessment %s", note, low)
	}
	if w.Deadlines[0].State != sagas.DeadlineCancelled {
		t.Errorf("deadline %+v, want cancelled", w.Deadlines[0])
	}
	last := f.messages()[len(f.messages())-2:]
	if got := w2Recipients(last); !slices.Equal(got, []string{"teacher:" + f.mathTeacher, "guardian:" + f.guardians[0] + ",guardian:" + f.guardians[1]}) ||
		!strings.Contains(last[1].Subject, "support plan has ended") {
		t.Fatalf("closing messages %v %q", got, last[1].Subject)
	}
	// The second low assessment found the workflow finished.
	f.wantCount("intervention.closed.v1", 1)
	if n := f.fireAfter(30 * w2Day); n != 0 {
		t.Fatalf("%d deadlines fired after the closing", n)
	}
}

func TestInterventionWorkflowClosedByAnAdmin(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	w := f.highRisk()
	d := workflowData[w2IvData](t, w)
	f.must(commands.NewCloseInterventionHandler(f.repo).Handle(f.ctx, f.admin(), commands.CloseIntervention{
		InterventionID: d.InterventionID, Outcome: "withdrawn", Note: "handled by the school counsellor"}))
	f.pump()
	wantState(t, f.workflow(w.Type, w.BusinessID), sagas.StateCompleted,
		"intervention closed by admin-1 as withdrawn: handled by the school counsellor")
	if n := f.fireAfter(30 * w2Day); n != 0 {
		t.Fatalf("%d deadlines fired after the closing", n)
	}
	f.wantCount("intervention.escalated.v1", 0)
}

// TestInterventionWorkflowFailsWithoutATeacher: a student in no class has
// no teacher to assign: the office is told and the workflow fails with
// the reason.
func TestInterventionWorkflowFailsWithoutATeacher(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	f.student = f.enroll("Bob Moore", "bob.parent@example.org")
	w := f.highRisk()
	wantState(t, w, sagas.StateFailed, "no teacher to assign the intervention for Bob Moore")
	if !strings.Contains(w.Reason, "the student is in no class") || w.Step != "no_teacher" {
		t.Fatalf("step %s reason %q", w.Step, w.Reason)
	}
	f.wantCount("intervention.opened.v1", 0)
	if office := f.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID); len(office) != 1 || !strings.Contains(office[0].Body, "open an intervention by hand") {
		t.Fatalf("office messages %+v", office)
	}
	// A later high risk starts a new workflow (the failed one is
	// finished); it fails the same way.
	f.record(f.student, "mathematics", 10)
	f.pump()
	if ws := f.interventionWorkflows(f.student); len(ws) != 2 || ws[0].State != sagas.StateFailed {
		t.Fatalf("%d workflows", len(ws))
	}
}

// TestInterventionWorkflowAdoptsAnInterventionOpenedByHand: followed up
// and escalated the same way, never closed by the workflow.
func TestInterventionWorkflowAdoptsAnInterventionOpenedByHand(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	due := domain.DateOf(f.clock.Now().Add(7 * w2Day))
	f.must(commands.NewOpenInterventionHandler(f.repo).Handle(f.ctx, f.as(f.englishTeacher, commands.RoleTeacher), commands.OpenIntervention{
		InterventionID: "iv-by-hand", StudentID: f.student, Reason: "Withdrawn in class", Plan: []string{"Talk with Ada weekly"},
		AssignedTo: f.englishTeacher, FollowUpDue: due.String()}))
	f.pump()
	ws := f.interventionWorkflows(f.student)
	if len(ws) != 1 {
		t.Fatalf("%d workflows", len(ws))
	}
	w := ws[0]
	if d := workflowData[w2IvData](t, w); d.Origin != "by_hand" || d.InterventionID != "iv-by-hand" || w.Step != "waiting_follow_up" ||
		!w.Deadlines[0].DueAt.Equal(due.AddDays(1).Time()) {
		t.Fatalf("step %s data %s deadlines %+v", w.Step, w.Data, w.Deadlines)
	}
	if len(f.messages()) != 0 {
		t.Fatalf("messages %v: the workflow does not announce an intervention opened by hand", w2Recipients(f.messages()))
	}

	// A high risk now: the running workflow records it, opens nothing.
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 15, Absent: 10})
	f.record(f.student, "mathematics", 20)
	f.pump()
	f.wantCount("intervention.opened.v1", 1)

	// A low risk: the teacher is told, the intervention stays open.
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 20})
	f.record(f.student, "mathematics", 95)
	f.record(f.student, "mathematics", 95)
	f.pump()
	w = f.workflow(w.Type, w.BusinessID)
	if w.State != sagas.StateRunning || f.intervention("iv-by-hand").Status() != domain.InterventionStatusOpen {
		t.Fatalf("state %s", w.State)
	}
	if !slices.Contains(stepNames(w), "risk_low_told") {
		t.Fatalf("steps %v", stepNames(w))
	}
	if n := f.fireAfter(8 * w2Day); n != 1 {
		t.Fatalf("%d fired", n)
	}
	f.wantCount("intervention.escalated.v1", 1)
}

// TestInterventionWorkflowRedelivery: every event twice, and the whole
// log again at the end: one intervention, one escalation, one closing,
// each message once.
func TestInterventionWorkflowRedelivery(t *testing.T) {
	t.Parallel()
	f := w2NewFixture(t)
	f.twice = true
	w := f.highRisk()
	f.fireAfter(15 * w2Day)
	f.pump()
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 20})
	f.record(f.student, "mathematics", 95)
	f.record(f.student, "mathematics", 95)
	f.pump()
	f.repump()
	f.restart()
	f.repump()

	wantState(t, f.workflow(w.Type, w.BusinessID), sagas.StateCompleted, "risk down to low")
	f.wantCount("intervention.opened.v1", 1)
	f.wantCount("intervention.escalated.v1", 1)
	f.wantCount("intervention.closed.v1", 1)
	f.wantCount("risk.assessed.v1", 3)
	// risk: teachers + guardians; intervention: teacher + guardians;
	// escalation: office; closing: teacher + guardians.
	if got := len(f.messages()); got != 7 {
		t.Fatalf("%d messages (%v), want 7", got, w2Recipients(f.messages()))
	}
}
