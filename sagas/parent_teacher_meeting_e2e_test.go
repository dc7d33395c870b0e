package sagas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// TestW3MeetingEndToEnd: a guardian asks for a meeting over HTTP; the
// workflow finds the teacher's first free period (the timetable has them
// teach Tuesday periods 1–3), both are told in their inboxes and reminded
// the day before; the service restarts; no outcome is recorded, so the
// meeting is marked a no-show, both are told, and the workflow completes.
func TestW3MeetingEndToEnd(t *testing.T) {
	t.Parallel()
	s := w3StartSystem(t, sagas.NewParentTeacherMeeting) // Monday 7 September 2026, 08:00 UTC
	tom := w3Teacher(s, "Tom Weber", "mathematics")
	class := s.create(s.path("/classes"), s.admin, map[string]any{"name": "5A", "gradeLevel": 5, "capacity": 30,
		"subjects": []any{map[string]any{"subject": "mathematics", "teacherId": tom}}})
	anna, maria := w3Student(s, "Anna Berg", class, "Maria Berg")
	var entries []any
	for p := 1; p <= 3; p++ {
		entries = append(entries, map[string]any{"classId": class, "subject": "mathematics", "teacherId": tom, "day": "tuesday", "period": p})
	}
	s.create(s.path("/timetables"), s.admin, map[string]any{"changeKind": "major", "entries": entries})

	guardian := s.Token(commands.RoleGuardian, s.school, maria)
	meeting := s.create(s.path("/meetings"), guardian, map[string]any{"studentId": anna, "teacherId": tom,
		"guardianId": maria, "topic": "Reading progress"})
	id := sagas.WorkflowID("parent_teacher_meeting", meeting)
	w := s.waitStep(id, "participants_notified")
	if r := stepReason(t, w, "scheduled"); !strings.HasPrefix(r, "first free slot from 2026-09-08: 2026-09-08 period 4, tuesday 11:00 (Europe/Berlin)") {
		t.Errorf("scheduled: %s", r)
	}
	// Both are told, in their inboxes.
	for _, in := range []struct{ kind, id string }{{"guardian", maria}, {"teacher", tom}} {
		msgs := s.WaitInbox(t, s.school, in.kind, in.id, 1)
		if !strings.Contains(msgs[0].Subject, "Tuesday 8 September 2026, period 4 (11:00–12:00, Europe/Berlin time)") {
			t.Errorf("%s's message: %q", in.kind, msgs[0].Subject)
		}
	}
	// The status over HTTP, as the school's admin sees it.
	hw := s.httpWorkflow(s.path("/workflows/", id), s.admin)
	if hw.State != sagas.StateRunning || len(hw.Deadlines) != 2 {
		t.Errorf("GET workflow: %+v %+v", hw.WorkflowSummary, hw.Deadlines)
	}

	// Monday 09:00 UTC, 24 hours before: the reminder.
	s.Clock.Set(time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC))
	if n := s.FireDue(t); n != 1 {
		t.Errorf("fired %d, want the reminder", n)
	}
	s.WaitInbox(t, s.school, "guardian", maria, 2)
	s.RestartSagas(t)

	// Tuesday 11:00 UTC, 2 hours after the start: no outcome, a no-show.
	s.Clock.Set(time.Date(2026, 9, 8, 11, 0, 0, 0, time.UTC))
	if n := s.FireDue(t); n != 1 {
		t.Errorf("fired %d, want the no-show check", n)
	}
	w = s.WaitWorkflow(t, id, sagas.StateCompleted)
	if !strings.HasPrefix(w.Reason, "marked a no-show: no outcome recorded by 13:00, 2 hours after the meeting's start") {
		t.Errorf("reason: %s", w.Reason)
	}
	for _, in := range []struct{ kind, id string }{{"guardian", maria}, {"teacher", tom}} {
		if msgs := s.WaitInbox(t, s.school, in.kind, in.id, 3); !strings.Contains(msgs[0].Subject, "was not held") {
			t.Errorf("%s's last message: %q", in.kind, msgs[0].Subject)
		}
	}
	s.Settle(t)
	if n := s.CountEvents(t, domain.MeetingNoShowType); n != 1 {
		t.Errorf("%d no-show events", n)
	}
	if n := s.CountEvents(t, domain.MessageSentType); n != 3 {
		t.Errorf("%d messages, want 3 (scheduled, reminder, no-show)", n)
	}
	if n := s.FireDue(t); n != 0 {
		t.Errorf("fired %d after the end", n)
	}
}
