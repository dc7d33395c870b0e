package commands_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// hookStore runs hook after every successful append to a stream whose
// name starts with prefix, to put a concurrent writer between the steps of
// a command.
type hookStore struct {
	eventstore.Store
	prefix string
	hook   func(stream string)
}

func (s hookStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events)
	if err == nil && strings.HasPrefix(stream, s.prefix) {
		s.hook(stream)
	}
	return res, err
}

func TestScheduleMeeting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	// T1 teaches class C1 on Tuesdays in period 2.
	f.publishLessons(sc, domain.TimetableEntryInput{ClassID: sc.C1, Subject: "mathematics", TeacherID: sc.T1, Day: "tuesday", Period: 2})
	h := commands.NewScheduleMeetingHandler(f.repo)
	ctx := context.Background()
	calendar := "calendar-" + sc.T1
	const tuesday = "2026-11-03"
	schedule := func(m commands.Meta, meetingID, date string, period int) (commands.Result, error) {
		return h.Handle(ctx, m, commands.ScheduleMeeting{MeetingID: meetingID, Date: date, Period: period})
	}
	booked, released := domain.CalendarSlotBookedType, domain.CalendarSlotReleasedType
	requested, scheduled := domain.MeetingRequestedType, domain.MeetingScheduledType
	mA := f.requestMeeting(sc.S1, sc.T1, sc.G1)
	mB := f.requestMeeting(sc.S2, sc.T1, sc.G2)

	t.Run("the teacher schedules in a free slot", func(t *testing.T) {
		res, err := schedule(f.teacherAs(sc.T1), mA, tuesday, 3)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != mA || res.Stream != "meeting-"+mA || res.Version != 2 {
			t.Fatalf("result = %+v", res)
		}
		f.expectEvents(t, res.Stream, requested, scheduled)
		f.expectEvents(t, calendar, booked)

		again, err := schedule(f.admin(), mA, tuesday, 3)
		if err != nil || again.Version != 2 {
			t.Fatalf("retry = %+v, %v; want version 2", again, err)
		}
		f.expectEvents(t, res.Stream, requested, scheduled)
		f.expectEvents(t, calendar, booked)
	})

	t.Run("another meeting of the teacher cannot take the slot", func(t *testing.T) {
		_, err := schedule(f.admin(), mB, tuesday, 3)
		expectErr(t, err, domain.KindConflict, "period", domain.ErrSlotTaken)
		f.expectEvents(t, "meeting-"+mB, requested)
		f.expectEvents(t, calendar, booked)
	})

	t.Run("not in a lesson of the timetable", func(t *testing.T) {
		_, err := schedule(f.admin(), mB, tuesday, 2)
		expectErr(t, err, domain.KindConflict, "period", domain.ErrSlotTaken)
		f.expectEvents(t, "meeting-"+mB, requested)
		f.expectEvents(t, calendar, booked)
	})

	t.Run("rescheduling frees the old slot", func(t *testing.T) {
		if _, err := schedule(f.admin(), mA, tuesday, 4); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "meeting-"+mA, requested, scheduled, scheduled)
		f.expectEvents(t, calendar, booked, released, booked)
		if _, err := schedule(f.admin(), mB, tuesday, 3); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, calendar, booked, released, booked, booked)
	})

	t.Run("of two meetings racing for one slot, one gets it", func(t *testing.T) {
		mC := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		mD := f.requestMeeting(sc.S2, sc.T1, sc.G2)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{mC, mD} {
			wg.Go(func() { _, errs[i] = schedule(f.admin(), id, "2026-11-04", 1) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, domain.ErrSlotTaken):
				t.Fatalf("err = %v, want ErrSlotTaken", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d meetings got the slot: %v", won, errs)
		}
		cal, _, err := commands.Load(ctx, f.repo, domain.NewTeacherCalendar(sc.T1))
		if err != nil {
			t.Fatal(err)
		}
		holder, ok := cal.HolderOf(sceneDate("2026-11-04"), 1)
		winner := mC
		if errs[0] != nil {
			winner = mD
		}
		if !ok || holder != winner {
			t.Fatalf("slot held by %q (%v), want %s", holder, ok, winner)
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the guardian":           f.guardianAs(sc.G1),
			"another teacher":        f.teacherAs(sc.T2),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := schedule(m, mA, "2026-11-05", 3)
				expectForbidden(t, err)
				f.expectEvents(t, "meeting-"+mA, requested, scheduled, scheduled)
			})
		}
	})

	t.Run("another school's meeting is not found", func(t *testing.T) {
		_, err := schedule(f.admin(), f.foreignMeeting(sc), tuesday, 6)
		expectErr(t, err, domain.KindNotFound, "", domain.ErrMeetingNotFound)
	})

	t.Run("invalid input books nothing", func(t *testing.T) {
		before := f.events(calendar)
		for _, tt := range []struct {
			name   string
			date   string
			period int
			field  string
		}{
			{"a malformed date", "2026-11-31", 5, "date"},
			{"no date", "", 5, "date"},
			{"a past date", "2026-10-30", 5, "date"},
			{"period 0", tuesday, 0, "period"},
			{"a period past the last", tuesday, domain.MaxPeriod + 1, "period"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := schedule(f.admin(), mA, tt.date, tt.period)
				expectErr(t, err, domain.KindInvalid, tt.field, nil)
				f.expectEvents(t, calendar, before...)
			})
		}
	})

	t.Run("a cancelled meeting books nothing", func(t *testing.T) {
		mE := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		if _, err := commands.NewCancelMeetingHandler(f.repo).Handle(ctx, f.admin(),
			commands.CancelMeeting{MeetingID: mE, Reason: "sorted out"}); err != nil {
			t.Fatal(err)
		}
		before := f.events(calendar)
		_, err := schedule(f.admin(), mE, tuesday, 7)
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingClosed)
		f.expectEvents(t, calendar, before...)
	})

	t.Run("a stale If-Match books nothing", func(t *testing.T) {
		m := f.admin()
		stale := uint64(1)
		m.ExpectedVersion = &stale
		before := f.events(calendar)
		_, err := schedule(m, mA, tuesday, 8)
		if !errors.Is(err, eventstore.ErrVersionConflict) {
			t.Fatalf("err = %v, want a version conflict", err)
		}
		f.expectEvents(t, calendar, before...)
	})

	// A writer that changes the meeting between the booking and the
	// scheduling makes the command fail; the booking must not stay.
	interleaved := func(t *testing.T, meetingID string, change func(*domain.Meeting) error) *commands.Repository {
		t.Helper()
		var once sync.Once
		hooked := hookStore{Store: f.store, prefix: "calendar-", hook: func(string) {
			once.Do(func() {
				mt, _, err := commands.Load(ctx, f.repo, domain.NewMeeting(meetingID))
				if err == nil {
					err = change(mt)
				}
				if err != nil {
					t.Errorf("interleaved change: %v", err)
					return
				}
				f.saveAggregate(mt)
			})
		}}
		return commands.NewRepository(hooked, func() time.Time { return f.now })
	}

	t.Run("a meeting cancelled meanwhile gives its booking back", func(t *testing.T) {
		mF := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		repo := interleaved(t, mF, func(mt *domain.Meeting) error { return mt.Cancel("no longer needed", "admin-1", f.now) })
		before := f.events(calendar)
		_, err := commands.NewScheduleMeetingHandler(repo).Handle(ctx, f.admin(),
			commands.ScheduleMeeting{MeetingID: mF, Date: tuesday, Period: 9})
		expectErr(t, err, domain.KindConflict, "", domain.ErrMeetingClosed)
		f.expectEvents(t, calendar, append(before, booked, released)...)
		cal, _, _ := commands.Load(ctx, f.repo, domain.NewTeacherCalendar(sc.T1))
		if _, ok := cal.SlotOf(mF); ok {
			t.Fatal("the cancelled meeting still holds a slot")
		}
	})

	t.Run("a meeting moved meanwhile keeps the calendar in line", func(t *testing.T) {
		mG := f.requestMeeting(sc.S1, sc.T1, sc.G1)
		f.scheduleMeeting(mG, "2026-11-06", 1)
		// The other writer moved the meeting to period 2 without booking
		// it; the If-Match of this command no longer holds.
		repo := interleaved(t, mG, func(mt *domain.Meeting) error {
			return mt.Schedule(sceneDate("2026-11-06"), 2, domain.TeacherAvailability{}, "admin-1", f.now)
		})
		m := f.admin()
		v := uint64(2)
		m.ExpectedVersion = &v
		_, err := commands.NewScheduleMeetingHandler(repo).Handle(ctx, m,
			commands.ScheduleMeeting{MeetingID: mG, Date: "2026-11-06", Period: 3})
		if !errors.Is(err, eventstore.ErrVersionConflict) {
			t.Fatalf("err = %v, want a version conflict", err)
		}
		cal, _, _ := commands.Load(ctx, f.repo, domain.NewTeacherCalendar(sc.T1))
		if s, ok := cal.SlotOf(mG); !ok || s.Period != 2 {
			t.Fatalf("calendar slot of the meeting = %v, %v; want the meeting's own (period 2)", s, ok)
		}
	})
}
