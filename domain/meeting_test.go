package domain_test

import (
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const mtgID = "m-1"

// mtgDay is the Monday after acNow.
var mtgDay = acToday.AddDays(2)

func mtgRequest() domain.MeetingRequest {
	return domain.MeetingRequest{
		SchoolID: acSchool, StudentID: "student-1", TeacherID: "teacher-1", GuardianID: "guardian-1",
		RequestedBy: "guardian-1", Topic: " falling maths grades ",
	}
}

func mtgRequested() domain.MeetingRequested {
	return domain.MeetingRequested{
		MeetingID: mtgID, SchoolID: acSchool, StudentID: "student-1", TeacherID: "teacher-1", GuardianID: "guardian-1",
		RequestedBy: "guardian-1", Topic: "falling maths grades", At: acNow,
	}
}

func mtgScheduled(date domain.Date, period int) domain.MeetingScheduled {
	return domain.MeetingScheduled{
		MeetingID: mtgID, SchoolID: acSchool, StudentID: "student-1", TeacherID: "teacher-1", GuardianID: "guardian-1",
		Date: date, Period: period, ScheduledBy: "teacher-1", At: acNow,
	}
}

func mtgCompleted() domain.MeetingCompleted {
	return domain.MeetingCompleted{MeetingID: mtgID, SchoolID: acSchool, CompletedBy: "teacher-1", At: acNow}
}

func mtgCancelled() domain.MeetingCancelled {
	return domain.MeetingCancelled{MeetingID: mtgID, SchoolID: acSchool, Reason: "guardian unwell", CancelledBy: "guardian-1", At: acNow}
}

func TestMeetingRequest(t *testing.T) {
	t.Parallel()
	request := func(in domain.MeetingRequest) func(*domain.Meeting) error {
		return func(m *domain.Meeting) error { return m.Request(in, acNow) }
	}

	t.Run("requests", func(t *testing.T) {
		t.Parallel()
		m := academic(t, domain.NewMeeting(mtgID)).when(request(mtgRequest())).then(mtgRequested())
		if m.Status() != domain.MeetingStatusRequested || m.TeacherID() != "teacher-1" || m.GuardianID() != "guardian-1" ||
			m.StudentID() != "student-1" || m.SchoolID() != acSchool || !m.Slot().IsZero() || m.StreamID() != "meeting-m-1" {
			t.Errorf("state: %s %s %s %s %v %s", m.Status(), m.TeacherID(), m.GuardianID(), m.StudentID(), m.Slot(), m.StreamID())
		}
	})

	t.Run("requests once", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).when(request(mtgRequest())).
			thenErr(domain.ErrMeetingExists)
	})

	tests := []struct {
		name  string
		id    string
		edit  func(*domain.MeetingRequest)
		field string
	}{
		{"no id", "", func(*domain.MeetingRequest) {}, "meetingId"},
		{"no school", mtgID, func(in *domain.MeetingRequest) { in.SchoolID = "" }, "schoolId"},
		{"no student", mtgID, func(in *domain.MeetingRequest) { in.StudentID = "" }, "studentId"},
		{"no teacher", mtgID, func(in *domain.MeetingRequest) { in.TeacherID = "" }, "teacherId"},
		{"no guardian", mtgID, func(in *domain.MeetingRequest) { in.GuardianID = "" }, "guardianId"},
		{"no requester", mtgID, func(in *domain.MeetingRequest) { in.RequestedBy = "" }, "requestedBy"},
		{"no topic", mtgID, func(in *domain.MeetingRequest) { in.Topic = "" }, "topic"},
		{"topic too long", mtgID, func(in *domain.MeetingRequest) { in.Topic = strings.Repeat("x", 201) }, "topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := mtgRequest()
			tt.edit(&in)
			academic(t, domain.NewMeeting(tt.id)).when(request(in)).thenInvalid(tt.field)
		})
	}
}

func TestMeetingSchedule(t *testing.T) {
	t.Parallel()
	schedule := func(date domain.Date, period int, av domain.TeacherAvailability) func(*domain.Meeting) error {
		return func(m *domain.Meeting) error { return m.Schedule(date, period, av, "teacher-1", acNow) }
	}
	// The teacher teaches Monday periods 1 and 2 and meets someone else on
	// mtgDay in period 5.
	busy := domain.TeacherAvailability{
		BusySlots: []domain.Slot{{Day: domain.Monday, Period: 1}, {Day: domain.Monday, Period: 2}, {Day: domain.Tuesday, Period: 3}},
		BookedMeetings: []domain.BookedMeeting{
			{MeetingID: "m-other", Date: mtgDay, Period: 5},
			{MeetingID: mtgID, Date: mtgDay, Period: 6}, // this meeting's own slot
		},
	}

	t.Run("in a free slot", func(t *testing.T) {
		t.Parallel()
		m := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
			when(schedule(mtgDay, 3, busy)).
			then(mtgScheduled(mtgDay, 3))
		if m.Status() != domain.MeetingStatusScheduled || m.Slot() != (domain.MeetingSlot{Date: mtgDay, Period: 3}) {
			t.Errorf("status %s, slot %v", m.Status(), m.Slot())
		}
	})

	t.Run("a meeting does not clash with itself", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
			when(schedule(mtgDay, 6, busy)).
			then(mtgScheduled(mtgDay, 6))
	})

	t.Run("today is still possible", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
			when(schedule(acToday, 8, busy)).
			then(mtgScheduled(acToday, 8))
	})

	t.Run("rescheduled", func(t *testing.T) {
		t.Parallel()
		want := mtgScheduled(mtgDay, 4)
		want.Rescheduled = true
		m := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
			when(schedule(mtgDay, 4, busy)).
			then(want)
		if m.Slot().Period != 4 {
			t.Errorf("slot %v", m.Slot())
		}
	})

	t.Run("into the slot it has changes nothing", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
			when(schedule(mtgDay, 3, busy)).
			then()
	})

	for _, tt := range []struct {
		name   string
		period int
	}{
		{"not while the teacher teaches", 2},
		{"not while the teacher meets someone else", 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
				when(schedule(mtgDay, tt.period, busy)).
				thenErr(domain.ErrSlotTaken)
			if err.Kind != domain.KindConflict || err.Field != "period" {
				t.Errorf("error = %s about %q", err.Kind, err.Field)
			}
		})
	}

	t.Run("not a meeting never requested", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).
			when(schedule(mtgDay, 3, busy)).
			thenErr(domain.ErrMeetingNotFound)
	})

	t.Run("not a completed meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 3), mtgCompleted()).
			when(schedule(mtgDay, 3, busy)).
			thenErr(domain.ErrMeetingClosed)
	})

	t.Run("not a cancelled meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgCancelled()).
			when(schedule(mtgDay, 3, busy)).
			thenErr(domain.ErrMeetingClosed)
	})

	for _, tt := range []struct {
		name   string
		date   domain.Date
		period int
		by     string
		field  string
	}{
		{"no date", domain.Date{}, 3, "teacher-1", "date"},
		{"in the past", acToday.AddDays(-2), 3, "teacher-1", "date"},
		{"period 0", mtgDay, 0, "teacher-1", "period"},
		{"period past the last", mtgDay, domain.MaxPeriod + 1, "teacher-1", "period"},
		{"no scheduler", mtgDay, 3, "", "scheduledBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
				when(func(m *domain.Meeting) error { return m.Schedule(tt.date, tt.period, busy, tt.by, acNow) }).
				thenInvalid(tt.field)
		})
	}
}

func TestMeetingComplete(t *testing.T) {
	t.Parallel()
	complete := func(notes, by string) func(*domain.Meeting) error {
		return func(m *domain.Meeting) error { return m.Complete(notes, by, acNow) }
	}

	t.Run("completes a meeting that took place", func(t *testing.T) {
		t.Parallel()
		want := mtgCompleted()
		want.Notes = "agreed on weekly tutoring"
		m := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2)).
			when(complete(" agreed on weekly tutoring ", "teacher-1")).
			then(want)
		if m.Status() != domain.MeetingStatusCompleted || m.Notes() != "agreed on weekly tutoring" {
			t.Errorf("status %s, notes %q", m.Status(), m.Notes())
		}
	})

	t.Run("not before its date", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 2)).
			when(complete("", "teacher-1")).
			thenErr(domain.ErrMeetingNotHeldYet)
	})

	t.Run("not when only requested", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
			when(complete("", "teacher-1")).
			thenErr(domain.ErrMeetingNotScheduled)
	})

	t.Run("not twice", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2), mtgCompleted()).
			when(complete("", "teacher-1")).
			thenErr(domain.ErrMeetingClosed)
	})

	t.Run("not a cancelled meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2), mtgCancelled()).
			when(complete("", "teacher-1")).
			thenErr(domain.ErrMeetingClosed)
	})

	t.Run("not a meeting never requested", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).when(complete("", "teacher-1")).thenErr(domain.ErrMeetingNotFound)
	})

	t.Run("notes too long", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2)).
			when(complete(strings.Repeat("x", 4001), "teacher-1")).
			thenInvalid("notes")
	})

	t.Run("no author", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2)).
			when(complete("", "")).
			thenInvalid("completedBy")
	})
}

func TestMeetingCancel(t *testing.T) {
	t.Parallel()
	cancel := func(reason, by string) func(*domain.Meeting) error {
		return func(m *domain.Meeting) error { return m.Cancel(reason, by, acNow) }
	}

	t.Run("a requested meeting", func(t *testing.T) {
		t.Parallel()
		m := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
			when(cancel("guardian unwell", "guardian-1")).
			then(mtgCancelled())
		if m.Status() != domain.MeetingStatusCancelled || m.CancelReason() != "guardian unwell" {
			t.Errorf("status %s, reason %q", m.Status(), m.CancelReason())
		}
	})

	t.Run("a scheduled meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
			when(cancel("guardian unwell", "guardian-1")).
			then(mtgCancelled())
	})

	t.Run("not a completed meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(acToday, 2), mtgCompleted()).
			when(cancel("too late", "guardian-1")).
			thenErr(domain.ErrMeetingClosed)
	})

	t.Run("not twice", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgCancelled()).
			when(cancel("again", "guardian-1")).
			thenErr(domain.ErrMeetingClosed)
	})

	t.Run("not a meeting never requested", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewMeeting(mtgID)).when(cancel("why", "guardian-1")).thenErr(domain.ErrMeetingNotFound)
	})

	for _, tt := range []struct{ name, reason, by, field string }{
		{"no reason", " ", "guardian-1", "reason"},
		{"reason too long", strings.Repeat("x", 501), "guardian-1", "reason"},
		{"no canceller", "why", "", "cancelledBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewMeeting(mtgID)).given(mtgRequested()).
				when(cancel(tt.reason, tt.by)).
				thenInvalid(tt.field)
		})
	}
}

func TestMeetingStatusFromString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"requested", "scheduled", "completed", "Cancelled"} {
		if st, err := domain.MeetingStatusFromString("status", s); err != nil || st.IsZero() {
			t.Errorf("%q: %v, %v", s, st, err)
		}
	}
	if _, err := domain.MeetingStatusFromString("status", "held"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("held: %v", err)
	}
}
