package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestMarkMeetingNoShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewMarkMeetingNoShowHandler(f.repo)
	ctx := context.Background()
	requested, scheduled, noShow := domain.MeetingRequestedType, domain.MeetingScheduledType, domain.MeetingNoShowType
	const reason = "no outcome recorded 2 hours after its start"
	meeting := func(date string) string {
		id := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		f.scheduleMeeting(id, date, 8)
		return id
	}
	monday, tuesday, next := meeting("2026-11-02"), meeting("2026-11-03"), meeting("2026-11-10")
	unscheduled := f.requestMeeting(sc.S2, sc.T1, sc.G2)
	foreign := f.foreignMeeting(sc)
	f.now = f.now.Add(24 * time.Hour) // Tuesday: Monday's meeting has passed, Tuesday's is today

	t.Run("marked by", func(t *testing.T) {
		for name, tc := range map[string]struct {
			m  commands.Meta
			id string
		}{
			"the workflow, a meeting of yesterday": {f.service(), monday},
			"the teacher, a meeting of today":      {f.teacherAs(sc.T1), tuesday},
		} {
			t.Run(name, func(t *testing.T) {
				expectOnce[commands.MarkMeetingNoShow](t, f, h, tc.m, commands.MarkMeetingNoShow{MeetingID: tc.id, Reason: reason},
					requested, scheduled, noShow)
				mt, _, err := commands.Load(ctx, f.repo, domain.NewMeeting(tc.id))
				if err != nil || mt.Status() != domain.MeetingStatusNoShow {
					t.Fatalf("meeting: %v, %s", err, mt.Status())
				}
			})
		}
		_, err := h.Handle(ctx, f.admin(), commands.MarkMeetingNoShow{MeetingID: monday, Reason: reason})
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingClosed)
		// Like a completed meeting's, the slot stays booked.
		f.expectEvents(t, "calendar-"+sc.T1, domain.CalendarSlotBookedType, domain.CalendarSlotBookedType, domain.CalendarSlotBookedType)
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the guardian":                f.guardianAs(sc.G1),
			"another teacher":             f.teacherAs(sc.T2),
			"another school's admin":      f.foreignAdmin(),
			"a service of another school": f.foreignService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, commands.MarkMeetingNoShow{MeetingID: next, Reason: reason})
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "meeting-"+next, requested, scheduled)
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			cmd      commands.MarkMeetingNoShow
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"a meeting still to come", commands.MarkMeetingNoShow{MeetingID: next, Reason: reason}, domain.KindConflict, "", domain.ErrMeetingNotHeldYet},
			{"a meeting not scheduled", commands.MarkMeetingNoShow{MeetingID: unscheduled, Reason: reason}, domain.KindConflict, "", domain.ErrMeetingNotScheduled},
			{"another school's meeting", commands.MarkMeetingNoShow{MeetingID: foreign, Reason: reason}, domain.KindNotFound, "", domain.ErrMeetingNotFound},
			{"no meeting", commands.MarkMeetingNoShow{Reason: reason}, domain.KindInvalid, "meetingId", nil},
			{"no reason", commands.MarkMeetingNoShow{MeetingID: next}, domain.KindInvalid, "reason", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.admin(), tt.cmd)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "meeting-"+next, requested, scheduled)
	})
}
