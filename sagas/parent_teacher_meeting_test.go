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

const w3Meeting = "parent_teacher_meeting"

// w3MeetingState is the part of the workflow's data the tests read.
type w3MeetingState struct {
	Date     string    `json:"date"`
	Period   int       `json:"period"`
	StartsAt time.Time `json:"startsAt"`
}

// w3MeetingSchool is a school (Europe/Berlin) with a mathematics teacher
// who teaches class 5A on Tuesdays in periods 1 and 2, and two students
// with a guardian each.
type w3MeetingSchool struct {
	*w3School
	teacher, class string
	anna, ben      string
	maria, paul    string
}

func w3NewMeetingSchool(t *testing.T, w *w3World) *w3MeetingSchool {
	t.Helper()
	// Monday 7 September 2026, 09:00 in Berlin: tomorrow is Tuesday.
	w.at(time.Date(2026, 9, 7, 7, 0, 0, 0, time.UTC))
	s := &w3MeetingSchool{w3School: w.school("Lindenschule", "Europe/Berlin")}
	s.teacher = s.w3School.teacher("Tom Weber", "mathematics")
	s.class = s.w3School.class("5A", map[string]string{"mathematics": s.teacher})
	s.timetable(s.class, "mathematics", s.teacher, "tuesday/1", "tuesday/2")
	var gs []string
	s.anna, gs = s.student("Anna Berg", s.class, "Maria Berg")
	s.maria = gs[0]
	s.ben, gs = s.student("Ben Kern", s.class, "Paul Kern")
	s.paul = gs[0]
	return s
}

// request asks for a meeting (by the guardian) and returns its ID.
func (s *w3MeetingSchool) request(student, guardian, topic string) string {
	s.w.t.Helper()
	id := uuid.NewString()
	m := commands.Meta{CommandID: uuid.NewString(), SchoolID: s.ID,
		Actor: commands.Actor{ID: guardian, Roles: []commands.Role{commands.RoleGuardian}, SchoolID: s.ID}}
	s.w.must(commands.NewRequestMeetingHandler(s.w.repo).Handle(s.w.ctx, m, commands.RequestMeeting{
		MeetingID: id, StudentID: student, TeacherID: s.teacher, GuardianID: guardian, Topic: topic}))
	return id
}

func w3UTC(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// TestW3MeetingWorkflow: two meetings are put in the first free periods
// (after the teacher's lessons, the other meeting and the guardian's own
// meeting), both sides are told and reminded; the one held is completed
// with its outcome and its no-show deadline does nothing; the other is
// marked a no-show. Every event is delivered twice and the service
// restarts between steps: each command and message happens once.
func TestW3MeetingWorkflow(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewParentTeacherMeeting)
	w.twice = true
	s := w3NewMeetingSchool(t, w)
	// Paul has a meeting with another teacher on Tuesday in period 4.
	w.dir.addGuardianMeeting(s.ID, s.paul, domain.MeetingSlot{Date: w3Date(t, "2026-09-08"), Period: 4})

	a := s.request(s.anna, s.maria, "Reading progress")
	w.pump()
	b := s.request(s.ben, s.paul, "Homework")
	w.pump()

	wa, wb := w.workflow(w3Meeting, a), w.workflow(w3Meeting, b)
	sa, sb := workflowData[w3MeetingState](t, wa), workflowData[w3MeetingState](t, wb)
	if sa.Date != "2026-09-08" || sa.Period != 3 || !sa.StartsAt.Equal(w3UTC(2026, 9, 8, 8, 0)) {
		t.Errorf("meeting A slot: %+v, want Tuesday period 3 at 10:00 Berlin", sa)
	}
	if sb.Date != "2026-09-08" || sb.Period != 5 || !sb.StartsAt.Equal(w3UTC(2026, 9, 8, 10, 0)) {
		t.Errorf("meeting B slot: %+v, want Tuesday period 5 at 12:00 Berlin", sb)
	}
	if r := stepReason(t, wa, "scheduled"); !strings.Contains(r, "the 2 earlier periods were taken (2 lessons)") {
		t.Errorf("A scheduled because: %s", r)
	}
	if r := stepReason(t, wb, "scheduled"); !strings.Contains(r, "the 4 earlier periods were taken (2 lessons, 1 teacher meeting, 1 guardian meeting)") {
		t.Errorf("B scheduled because: %s", r)
	}
	if wa.State != sagas.StateRunning || wa.SchoolID != s.ID {
		t.Errorf("A: %s in school %q", wa.State, wa.SchoolID)
	}
	// Scheduled by the workflow, as the meeting stream says.
	mt, _, err := commands.Load(w.ctx, w.repo, domain.NewMeeting(b))
	if err != nil || mt.Status() != domain.MeetingStatusScheduled || mt.Slot().Period != 5 {
		t.Fatalf("meeting B: %v %v %v", mt.Status(), mt.Slot(), err)
	}
	if got := len(w.messagesTo(domain.RecipientGuardian, s.paul)); got != 1 {
		t.Errorf("Paul got %d messages, want 1 (scheduled)", got)
	}

	w.restart()
	// Monday 10:00 UTC: both reminders (24 h before) are due.
	w.at(w3UTC(2026, 9, 7, 10, 0))
	if n := w.fire(); n != 2 {
		t.Errorf("fired %d deadlines, want the 2 reminders", n)
	}
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d deadlines again", n)
	}
	w.restart()

	// Tuesday 09:30 UTC: meeting A took place; its outcome is recorded.
	w.at(w3UTC(2026, 9, 8, 9, 30))
	w.must(commands.NewCompleteMeetingHandler(w.repo).Handle(w.ctx, s.teacherMeta(s.teacher),
		commands.CompleteMeeting{MeetingID: a, Notes: "Reading log agreed"}))
	w.pump()
	wa = w.workflow(w3Meeting, a)
	if wa.State != sagas.StateCompleted || !strings.Contains(wa.Reason, "Reading log agreed") {
		t.Errorf("A: %s, %q", wa.State, wa.Reason)
	}

	// Tuesday 12:30 UTC: B has no outcome 2 h after its start; A's
	// no-show deadline was cancelled when it completed.
	w.at(w3UTC(2026, 9, 8, 12, 30))
	w.restart()
	if n := w.fire(); n != 1 {
		t.Errorf("fired %d deadlines, want B's no-show only", n)
	}
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d deadlines again", n)
	}
	wb = w.workflow(w3Meeting, b)
	if wb.State != sagas.StateCompleted || !strings.Contains(wb.Reason, "no-show") {
		t.Errorf("B: %s, %q", wb.State, wb.Reason)
	}
	if got := deadlineStates(w.workflow(w3Meeting, a)); strings.Join(got, " ") != "reminder:fired no_show:cancelled" {
		t.Errorf("A deadlines: %v", got)
	}
	if got := deadlineStates(wb); strings.Join(got, " ") != "reminder:fired no_show:fired" {
		t.Errorf("B deadlines: %v", got)
	}
	if n := len(w.events(domain.MeetingNoShowType)); n != 1 {
		t.Errorf("%d no-show events, want 1", n)
	}
	if n := len(w.events(domain.MeetingScheduledType)); n != 2 {
		t.Errorf("%d meeting.scheduled events, want 2", n)
	}
	// Each message once: scheduled, reminder (and the no-show for B).
	for _, c := range []struct {
		kind domain.RecipientKind
		id   string
		want int
	}{{domain.RecipientTeacher, s.teacher, 5}, {domain.RecipientGuardian, s.maria, 2}, {domain.RecipientGuardian, s.paul, 3}} {
		if got := len(w.messagesTo(c.kind, c.id)); got != c.want {
			t.Errorf("%s %s got %d messages, want %d", c.kind, c.id, got, c.want)
		}
	}
	for _, st := range wb.Steps {
		t.Logf("B %s: %s", st.Step, st.Reason)
	}
	if got := stepNames(wb); strings.Join(got, " ") != "scheduled participants_notified reminded marked_no_show participants_notified completed" {
		t.Errorf("B steps: %v", got)
	}
}

// TestW3MeetingRescheduledByHand: a move by the school moves the reminder
// and the no-show check, and both sides are told.
func TestW3MeetingRescheduledByHand(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewParentTeacherMeeting)
	s := w3NewMeetingSchool(t, w)
	a := s.request(s.anna, s.maria, "Reading progress")
	w.pump()

	w.must(commands.NewScheduleMeetingHandler(w.repo).Handle(w.ctx, s.admin(),
		commands.ScheduleMeeting{MeetingID: a, Date: "2026-09-09", Period: 2}))
	w.pump()
	wf := w.workflow(w3Meeting, a)
	st := workflowData[w3MeetingState](t, wf)
	if st.Date != "2026-09-09" || st.Period != 2 || !st.StartsAt.Equal(w3UTC(2026, 9, 9, 7, 0)) {
		t.Errorf("moved slot: %+v", st)
	}
	due := map[string]time.Time{}
	for _, d := range wf.Deadlines {
		if d.State == sagas.DeadlinePending {
			due[d.Name] = d.DueAt
		}
	}
	if !due["reminder"].Equal(w3UTC(2026, 9, 8, 7, 0)) || !due["no_show"].Equal(w3UTC(2026, 9, 9, 9, 0)) {
		t.Errorf("pending deadlines: %v", due)
	}
	if r := stepReason(t, wf, "rescheduled"); !strings.Contains(r, "from 2026-09-08 period 3 to 2026-09-09 period 2") {
		t.Errorf("rescheduled: %s", r)
	}
	if got := w.messagesTo(domain.RecipientGuardian, s.maria); len(got) != 2 || !strings.Contains(got[1].Subject, "moved") {
		t.Errorf("Maria's messages: %+v", got)
	}
	// The old reminder time passes: nothing; the new one: the reminder.
	w.at(w3UTC(2026, 9, 7, 8, 0))
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d at the old reminder time", n)
	}
	w.at(w3UTC(2026, 9, 8, 7, 0))
	if n := w.fire(); n != 1 {
		t.Errorf("fired %d at the new reminder time, want 1", n)
	}
	if got := w.messagesTo(domain.RecipientGuardian, s.maria); len(got) != 3 || !strings.Contains(got[2].Body, "Wednesday 9 September 2026, period 2 (09:00–10:00, Europe/Berlin time)") {
		t.Errorf("reminder: %+v", got[len(got)-1])
	}
}

// TestW3MeetingCancelled: a cancelled meeting completes the workflow with
// the reason; its timers never fire.
func TestW3MeetingCancelled(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewParentTeacherMeeting)
	s := w3NewMeetingSchool(t, w)
	a := s.request(s.anna, s.maria, "Reading progress")
	w.pump()
	w.must(commands.NewCancelMeetingHandler(w.repo).Handle(w.ctx, s.admin(),
		commands.CancelMeeting{MeetingID: a, Reason: "the teacher is ill"}))
	w.pump()
	wf := w.workflow(w3Meeting, a)
	if wf.State != sagas.StateCompleted || wf.Reason != "cancelled by admin-1: the teacher is ill" {
		t.Errorf("%s: %q", wf.State, wf.Reason)
	}
	w.at(w3UTC(2026, 9, 20, 0, 0))
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d deadlines of a cancelled meeting", n)
	}
}

// TestW3MeetingNoFreeSlot: when the teacher teaches every period the
// school uses for four weeks, the workflow fails and says why.
func TestW3MeetingNoFreeSlot(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewParentTeacherMeeting)
	w.deps.Settings.PeriodsPerDay = 2
	w.restart()
	s := w3NewMeetingSchool(t, w)
	var slots []string
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		slots = append(slots, d+"/1", d+"/2")
	}
	s.timetable(s.class, "mathematics", s.teacher, slots...)
	a := s.request(s.anna, s.maria, "Reading progress")
	w.pump()
	wf := w.workflow(w3Meeting, a)
	want := "no period from 2026-09-08 to 2026-10-05 suits teacher " + s.teacher + " and guardian " + s.maria +
		": 40 lessons of 40 periods on school days"
	if wf.State != sagas.StateFailed || wf.Step != "no_free_slot" || wf.Reason != want {
		t.Errorf("%s at %s: %q\nwant %q", wf.State, wf.Step, wf.Reason, want)
	}
	if n := len(w.events(domain.MeetingScheduledType)); n != 0 {
		t.Errorf("%d meetings scheduled", n)
	}
}

// TestW3MeetingOutcomeRecordedInTime: the outcome is recorded in time but
// its event reaches the workflow only after the no-show check fired: the
// check reads the meeting, finds it held, and does nothing.
func TestW3MeetingOutcomeRecordedInTime(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewParentTeacherMeeting)
	s := w3NewMeetingSchool(t, w)
	a := s.request(s.anna, s.maria, "Reading progress") // Tuesday period 3, 08:00 UTC
	w.pump()
	w.at(w3UTC(2026, 9, 8, 9, 0))
	w.must(commands.NewCompleteMeetingHandler(w.repo).Handle(w.ctx, s.teacherMeta(s.teacher),
		commands.CompleteMeeting{MeetingID: a, Notes: "Reading log agreed"}))
	// Not pumped: the workflow has not seen the outcome when the check fires.
	w.at(w3UTC(2026, 9, 8, 10, 0))
	if n, err := w.rt.FireDue(w.ctx); err != nil || n != 2 { // the reminder, late, and the no-show check
		t.Fatalf("fired %d: %v", n, err)
	}
	wf := w.workflow(w3Meeting, a)
	if wf.State != sagas.StateRunning || !strings.Contains(stepReason(t, wf, "no_show_skipped"), "the meeting is completed") {
		t.Errorf("%s: %v", wf.State, stepNames(wf))
	}
	w.pump()
	if wf = w.workflow(w3Meeting, a); wf.State != sagas.StateCompleted {
		t.Errorf("after the outcome's event: %s", wf.State)
	}
	if n := len(w.events(domain.MeetingNoShowType)); n != 0 {
		t.Errorf("%d no-show events", n)
	}
}
