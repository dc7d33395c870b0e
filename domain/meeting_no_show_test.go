package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

func mtgNoShow(at time.Time) domain.MeetingNoShow {
	return domain.MeetingNoShow{MeetingID: mtgID, SchoolID: acSchool, Reason: "no outcome recorded 2h after its start",
		RecordedBy: "saga:parent_teacher_meeting", At: at}
}

func TestMeetingMarkNoShow(t *testing.T) {
	t.Parallel()
	noShow := func(reason, by string, at time.Time) func(*domain.Meeting) error {
		return func(m *domain.Meeting) error { return m.MarkNoShow(reason, by, at) }
	}
	const reason = " no outcome recorded 2h after its start "
	const by = "saga:parent_teacher_meeting"
	later := acNow.Add(72 * time.Hour) // mtgDay + 1

	t.Run("after its date", func(t *testing.T) {
		t.Parallel()
		m := academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
			when(noShow(reason, by, later)).then(mtgNoShow(later))
		if m.Status() != domain.MeetingStatusNoShow || m.CancelReason() != "no outcome recorded 2h after its start" {
			t.Errorf("status %s, reason %q", m.Status(), m.CancelReason())
		}
	})

	t.Run("on its date", func(t *testing.T) {
		t.Parallel()
		at := mtgDay.Time().Add(15 * time.Hour)
		academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
			when(noShow(reason, by, at)).then(mtgNoShow(at))
	})

	for _, tt := range []struct {
		name     string
		given    []domain.Event
		at       time.Time
		sentinel error
		kind     domain.Kind
	}{
		{"not before its date", []domain.Event{mtgRequested(), mtgScheduled(mtgDay, 3)}, acNow, domain.ErrMeetingNotHeldYet, domain.KindConflict},
		{"not a meeting only requested", []domain.Event{mtgRequested()}, later, domain.ErrMeetingNotScheduled, domain.KindConflict},
		{"not a completed one", []domain.Event{mtgRequested(), mtgScheduled(mtgDay, 3), mtgCompleted()}, later, domain.ErrMeetingClosed, domain.KindConflict},
		{"not a cancelled one", []domain.Event{mtgRequested(), mtgScheduled(mtgDay, 3), mtgCancelled()}, later, domain.ErrMeetingClosed, domain.KindConflict},
		{"not twice", []domain.Event{mtgRequested(), mtgScheduled(mtgDay, 3), mtgNoShow(later)}, later, domain.ErrMeetingClosed, domain.KindConflict},
		{"not one never requested", nil, later, domain.ErrMeetingNotFound, domain.KindNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := academic(t, domain.NewMeeting(mtgID)).given(tt.given...).when(noShow(reason, by, tt.at)).thenErr(tt.sentinel)
			if err.Kind != tt.kind {
				t.Errorf("kind = %s, want %s", err.Kind, tt.kind)
			}
		})
	}

	for _, tt := range []struct{ name, reason, by, field string }{
		{"no reason", " ", by, "reason"},
		{"reason too long", strings.Repeat("x", 501), by, "reason"},
		{"by no one", reason, "", "recordedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewMeeting(mtgID)).given(mtgRequested(), mtgScheduled(mtgDay, 3)).
				when(noShow(tt.reason, tt.by, later)).thenInvalid(tt.field)
		})
	}

	// A no-show meeting is over: it is not completed, cancelled or moved.
	over := []domain.Event{mtgRequested(), mtgScheduled(mtgDay, 3), mtgNoShow(later)}
	for name, when := range map[string]func(*domain.Meeting) error{
		"complete": func(m *domain.Meeting) error { return m.Complete("", "teacher-1", later) },
		"cancel":   func(m *domain.Meeting) error { return m.Cancel("x", "teacher-1", later) },
		"reschedule": func(m *domain.Meeting) error {
			return m.Schedule(mtgDay.AddDays(7), 2, domain.TeacherAvailability{}, "teacher-1", later)
		},
	} {
		t.Run("then not "+name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewMeeting(mtgID)).given(over...).when(when).thenErr(domain.ErrMeetingClosed)
		})
	}
	if st, err := domain.MeetingStatusFromString("status", "no_show"); err != nil || st != domain.MeetingStatusNoShow {
		t.Errorf("status no_show: %v, %v", st, err)
	}
}
