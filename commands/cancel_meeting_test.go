package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCancelMeeting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewCancelMeetingHandler(f.repo)
	ctx := context.Background()
	cancel := func(m commands.Meta, meetingID, reason string) (commands.Result, error) {
		return h.Handle(ctx, m, commands.CancelMeeting{MeetingID: meetingID, Reason: reason})
	}
	calendar := "calendar-" + sc.T1
	requested, scheduled, cancelled := domain.MeetingRequestedType, domain.MeetingScheduledType, domain.MeetingCancelledType
	booked, released := domain.CalendarSlotBookedType, domain.CalendarSlotReleasedType
	mA := f.requestMeeting(sc.S1, sc.T1, sc.G1)
	f.scheduleMeeting(mA, "2026-11-03", 3)

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"another guardian":       f.guardianAs(sc.G2),
			"another teacher":        f.teacherAs(sc.T2),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := cancel(m, mA, "not mine to cancel")
				expectForbidden(t, err)
				f.expectEvents(t, "meeting-"+mA, requested, scheduled)
				f.expectEvents(t, calendar, booked)
			})
		}
	})

	t.Run("no reason", func(t *testing.T) {
		_, err := cancel(f.admin(), mA, " ")
		expectErr(t, err, domain.KindInvalid, "reason", nil)
		f.expectEvents(t, calendar, booked)
	})

	t.Run("the guardian cancels; the slot is free again", func(t *testing.T) {
		res, err := cancel(f.guardianAs(sc.G1), mA, "guardian unwell")
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != mA || res.Version != 3 {
			t.Fatalf("result = %+v", res)
		}
		f.expectEvents(t, "meeting-"+mA, requested, scheduled, cancelled)
		f.expectEvents(t, calendar, booked, released)

		mB := f.requestMeeting(sc.S2, sc.T1, sc.G2)
		f.scheduleMeeting(mB, "2026-11-03", 3)
		f.expectEvents(t, calendar, booked, released, booked)

		_, err = cancel(f.admin(), mA, "again")
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingClosed)
		f.expectEvents(t, calendar, booked, released, booked)
	})

	t.Run("the teacher cancels a requested meeting", func(t *testing.T) {
		mC := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		if _, err := cancel(f.teacherAs(sc.T1), mC, "resolved by phone"); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "meeting-"+mC, requested, cancelled)
		f.expectEvents(t, calendar, booked, released, booked)
	})

	t.Run("a repeated command ID returns the first result", func(t *testing.T) {
		mD := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		f.scheduleMeeting(mD, "2026-11-03", 5)
		m := f.admin()
		m.CommandID = "cancel-" + mD
		first, err := cancel(m, mD, "clash with a trip")
		if err != nil {
			t.Fatal(err)
		}
		again, err := cancel(m, mD, "clash with a trip")
		if err != nil || again != first {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
		}
		f.expectEvents(t, "meeting-"+mD, requested, scheduled, cancelled)
		f.expectEvents(t, calendar, booked, released, booked, booked, released)
	})

	t.Run("a retry releases a slot a cancel left booked", func(t *testing.T) {
		mE := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		f.scheduleMeeting(mE, "2026-11-03", 6)
		// The cancel was stored, its release lost (a crash in between).
		mt, _, err := commands.Load(ctx, f.repo, domain.NewMeeting(mE))
		if err != nil {
			t.Fatal(err)
		}
		if err := mt.Cancel("trip", "admin-1", f.now); err != nil {
			t.Fatal(err)
		}
		f.saveAggregate(mt)
		before := f.events(calendar)

		_, err = cancel(f.admin(), mE, "trip")
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingClosed)
		f.expectEvents(t, calendar, append(before, released)...)
	})

	t.Run("another school's meeting is not found", func(t *testing.T) {
		_, err := cancel(f.admin(), f.foreignMeeting(sc), "why")
		expectErr(t, err, domain.KindNotFound, "", domain.ErrMeetingNotFound)
	})
}
