package domain_test

import (
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const calTeacher = "teacher-1"

func calBooked(meetingID string, date domain.Date, period int) domain.CalendarSlotBooked {
	return domain.CalendarSlotBooked{TeacherID: calTeacher, SchoolID: acSchool, MeetingID: meetingID,
		Date: date, Period: period, At: acNow}
}

func calReleased(meetingID string, date domain.Date, period int) domain.CalendarSlotReleased {
	return domain.CalendarSlotReleased{TeacherID: calTeacher, SchoolID: acSchool, MeetingID: meetingID,
		Date: date, Period: period, At: acNow}
}

func TestTeacherCalendarBook(t *testing.T) {
	t.Parallel()
	book := func(meetingID string, date domain.Date, period int) func(*domain.TeacherCalendar) error {
		return func(c *domain.TeacherCalendar) error { return c.Book(acSchool, meetingID, date, period, acNow) }
	}

	t.Run("books a free slot", func(t *testing.T) {
		t.Parallel()
		c := academic(t, domain.NewTeacherCalendar(calTeacher)).
			when(book("m-1", mtgDay, 3)).
			then(calBooked("m-1", mtgDay, 3))
		if holder, ok := c.HolderOf(mtgDay, 3); !ok || holder != "m-1" {
			t.Errorf("HolderOf = %q, %v", holder, ok)
		}
		if s, ok := c.SlotOf("m-1"); !ok || s != (domain.MeetingSlot{Date: mtgDay, Period: 3}) {
			t.Errorf("SlotOf = %v, %v", s, ok)
		}
		if c.StreamID() != "calendar-teacher-1" || c.TeacherID() != calTeacher || c.SchoolID() != acSchool {
			t.Errorf("state: %s %s %s", c.StreamID(), c.TeacherID(), c.SchoolID())
		}
	})

	t.Run("another period of the same day is free", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(book("m-2", mtgDay, 4)).
			then(calBooked("m-2", mtgDay, 4))
	})

	t.Run("a slot taken by another meeting is refused", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(book("m-2", mtgDay, 3)).
			thenErr(domain.ErrSlotTaken)
		if err.Kind != domain.KindConflict || err.Field != "period" {
			t.Errorf("error = %s about %q", err.Kind, err.Field)
		}
	})

	t.Run("a slot released is free again", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).
			given(calBooked("m-1", mtgDay, 3), calReleased("m-1", mtgDay, 3)).
			when(book("m-2", mtgDay, 3)).
			then(calBooked("m-2", mtgDay, 3))
	})

	t.Run("booking the slot the meeting holds changes nothing", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(book("m-1", mtgDay, 3)).
			then()
	})

	t.Run("a meeting booked elsewhere moves", func(t *testing.T) {
		t.Parallel()
		c := academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(book("m-1", mtgDay.AddDays(1), 2)).
			then(calReleased("m-1", mtgDay, 3), calBooked("m-1", mtgDay.AddDays(1), 2))
		if _, ok := c.HolderOf(mtgDay, 3); ok {
			t.Error("the old slot is still held")
		}
		want := []domain.BookedMeeting{{MeetingID: "m-1", Date: mtgDay.AddDays(1), Period: 2}}
		if got := c.Booked(); !slices.Equal(got, want) {
			t.Errorf("Booked = %v, want %v", got, want)
		}
	})

	t.Run("another school's teacher reads as not found", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(func(c *domain.TeacherCalendar) error { return c.Book("school-2", "m-2", mtgDay, 4, acNow) }).
			thenKind(domain.KindNotFound, "teacherId")
	})

	for _, tt := range []struct {
		name    string
		teacher string
		school  string
		meeting string
		date    domain.Date
		period  int
		field   string
	}{
		{"no teacher", "", acSchool, "m-1", mtgDay, 3, "teacherId"},
		{"no school", calTeacher, "", "m-1", mtgDay, 3, "schoolId"},
		{"no meeting", calTeacher, acSchool, " ", mtgDay, 3, "meetingId"},
		{"no date", calTeacher, acSchool, "m-1", domain.Date{}, 3, "date"},
		{"period 0", calTeacher, acSchool, "m-1", mtgDay, 0, "period"},
		{"period past the last", calTeacher, acSchool, "m-1", mtgDay, domain.MaxPeriod + 1, "period"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewTeacherCalendar(tt.teacher)).
				when(func(c *domain.TeacherCalendar) error { return c.Book(tt.school, tt.meeting, tt.date, tt.period, acNow) }).
				thenInvalid(tt.field)
		})
	}
}

func TestTeacherCalendarRelease(t *testing.T) {
	t.Parallel()
	release := func(meetingID string) func(*domain.TeacherCalendar) error {
		return func(c *domain.TeacherCalendar) error { return c.Release(meetingID, acNow) }
	}

	t.Run("releases the meeting's slot", func(t *testing.T) {
		t.Parallel()
		c := academic(t, domain.NewTeacherCalendar(calTeacher)).
			given(calBooked("m-1", mtgDay, 3), calBooked("m-2", mtgDay, 4)).
			when(release("m-1")).
			then(calReleased("m-1", mtgDay, 3))
		want := []domain.BookedMeeting{{MeetingID: "m-2", Date: mtgDay, Period: 4}}
		if got := c.Booked(); !slices.Equal(got, want) {
			t.Errorf("Booked = %v, want %v", got, want)
		}
	})

	t.Run("a meeting that holds no slot changes nothing", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).
			given(calBooked("m-1", mtgDay, 3), calReleased("m-1", mtgDay, 3)).
			when(release("m-1")).
			then()
	})

	t.Run("on an empty calendar changes nothing", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).when(release("m-1")).then()
	})

	t.Run("no meeting", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewTeacherCalendar(calTeacher)).given(calBooked("m-1", mtgDay, 3)).
			when(release("")).
			thenInvalid("meetingId")
	})
}

func TestTeacherCalendarBookedIsSorted(t *testing.T) {
	t.Parallel()
	c := domain.Rehydrate(domain.NewTeacherCalendar(calTeacher), []domain.Event{
		calBooked("m-3", mtgDay.AddDays(1), 1),
		calBooked("m-2", mtgDay, 5),
		calBooked("m-1", mtgDay, 2),
	}, 3)
	want := []domain.BookedMeeting{
		{MeetingID: "m-1", Date: mtgDay, Period: 2},
		{MeetingID: "m-2", Date: mtgDay, Period: 5},
		{MeetingID: "m-3", Date: mtgDay.AddDays(1), Period: 1},
	}
	if got := c.Booked(); !slices.Equal(got, want) {
		t.Errorf("Booked = %v, want %v", got, want)
	}
}

// The calendar's events are named, versioned and on the communication
// channel, like the meetings they serve.
func TestTeacherCalendarEventsAreRegistered(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		domain.CalendarSlotBookedType:   "calendar.slot_booked.v1",
		domain.CalendarSlotReleasedType: "calendar.slot_released.v1",
	} {
		if name != want {
			t.Errorf("event type %q: stored names never change, want %q", name, want)
		}
		if ch, ok := domain.ChannelOf(name); !ok || ch != domain.ChannelCommunication {
			t.Errorf("ChannelOf(%s) = %q, %v", name, ch, ok)
		}
	}
}
