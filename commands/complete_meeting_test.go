package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCompleteMeeting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewCompleteMeetingHandler(f.repo)
	ctx := context.Background()
	complete := func(m commands.Meta, meetingID, notes string) error {
		_, err := h.Handle(ctx, m, commands.CompleteMeeting{MeetingID: meetingID, Notes: notes})
		return err
	}
	requested, scheduled, completed := domain.MeetingRequestedType, domain.MeetingScheduledType, domain.MeetingCompletedType
	today := f.requestMeeting(sc.S1, sc.T1, sc.G1)
	f.scheduleMeeting(today, "2026-11-02", 8)
	later := f.requestMeeting(sc.S2, sc.T1, sc.G2)
	f.scheduleMeeting(later, "2026-11-10", 8)
	unscheduled := f.requestMeeting(sc.S1, sc.T1, sc.G1)
	foreign := f.foreignMeeting(sc)

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the guardian":           f.guardianAs(sc.G1),
			"another teacher":        f.teacherAs(sc.T2),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				expectForbidden(t, complete(m, today, ""))
				f.expectEvents(t, "meeting-"+today, requested, scheduled)
			})
		}
	})

	t.Run("the teacher completes a meeting that took place", func(t *testing.T) {
		if err := complete(f.teacherAs(sc.T1), today, "agreed on weekly tutoring"); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "meeting-"+today, requested, scheduled, completed)
		// The slot was used: it stays booked.
		f.expectEvents(t, "calendar-"+sc.T1, domain.CalendarSlotBookedType, domain.CalendarSlotBookedType)

		expectErr(t, complete(f.admin(), today, ""), domain.KindConflict, "", domain.ErrMeetingClosed)
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name, meeting, notes string
			kind                 domain.Kind
			sentinel             error
			field                string
		}{
			{"before its date", later, "", domain.KindConflict, domain.ErrMeetingNotHeldYet, ""},
			{"only requested", unscheduled, "", domain.KindConflict, domain.ErrMeetingNotScheduled, ""},
			{"another school's meeting", foreign, "", domain.KindNotFound, domain.ErrMeetingNotFound, ""},
			{"an unknown meeting", "no-such-meeting", "", domain.KindNotFound, domain.ErrMeetingNotFound, ""},
			{"no meeting", "", "", domain.KindInvalid, nil, "meetingId"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, complete(f.admin(), tt.meeting, tt.notes), tt.kind, tt.field, tt.sentinel)
			})
		}
	})

	t.Run("notes too long", func(t *testing.T) {
		f.now = f.now.AddDate(0, 0, 8) // the later meeting's day
		defer func() { f.now = testNow }()
		expectErr(t, complete(f.admin(), later, strings.Repeat("x", 4001)), domain.KindInvalid, "notes", nil)
		if err := complete(f.admin(), later, ""); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "meeting-"+later, requested, scheduled, completed)
	})
}
