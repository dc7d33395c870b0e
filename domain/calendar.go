package domain

import (
	"cmp"
	"slices"
	"time"
)

// TeacherCalendar holds the meeting slots (a period of a date) a teacher has
// booked (stream calendar-<teacherId>). It exists so that "a teacher has at
// most one meeting per slot" is decided by one aggregate: two meetings are
// two streams, and checking one against a read model of the other would let
// concurrent bookings both pass. Every booking of a teacher goes through this
// stream, whose expected version serializes them.
//
// A meeting holds at most one slot: booking it elsewhere releases the old
// slot in the same append, so a reschedule is never half done. Lessons are
// not here: the timetable is their truth and Meeting.Schedule checks them.
type TeacherCalendar struct {
	Root
	schoolID string
	bookings map[string]MeetingSlot // meeting ID -> its slot
}

// NewTeacherCalendar returns the blank calendar of a teacher, to load its
// stream into; its ID is the teacher's. It validates nothing: Book does.
func NewTeacherCalendar(teacherID string) *TeacherCalendar {
	return &TeacherCalendar{Root: Root{id: teacherID}}
}

// StreamID is "calendar-<teacherId>".
func (c *TeacherCalendar) StreamID() string { return "calendar-" + c.id }

// Book reserves a period of a date for a meeting of the teacher. Booking
// the slot the meeting already holds raises nothing, so a retried
// scheduling is harmless; a meeting that holds another slot moves (the old
// slot is released first, in the same change). A slot held by another
// meeting is a conflict (ErrSlotTaken on "period"). Whether a date is
// acceptable (not past) is the meeting's rule, not the calendar's.
func (c *TeacherCalendar) Book(schoolID, meetingID string, date Date, period int, at time.Time) error {
	if err := RequireID("teacherId", c.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", schoolID); err != nil {
		return err
	}
	if err := RequireID("meetingId", meetingID); err != nil {
		return err
	}
	if date.IsZero() {
		return Invalid("date", "is required")
	}
	if period < 1 || period > MaxPeriod {
		return Invalid("period", "must be between 1 and %d, got %d", MaxPeriod, period)
	}
	if c.schoolID != "" && c.schoolID != schoolID {
		// Teacher IDs are per school; a mismatch is another school's teacher.
		return ruleError(KindNotFound, "teacherId", ErrTeacherNotFound, "teacher %s not found", c.id)
	}
	slot := MeetingSlot{Date: date, Period: period}
	if holder, ok := c.HolderOf(date, period); ok {
		if holder == meetingID {
			return nil
		}
		return ruleError(KindConflict, "period", ErrSlotTaken,
			"teacher %s has another meeting on %s in period %d", c.id, date, period)
	}
	if old, ok := c.bookings[meetingID]; ok {
		raise(c, CalendarSlotReleased{TeacherID: c.id, SchoolID: schoolID, MeetingID: meetingID,
			Date: old.Date, Period: old.Period, At: at.UTC()})
	}
	raise(c, CalendarSlotBooked{TeacherID: c.id, SchoolID: schoolID, MeetingID: meetingID,
		Date: slot.Date, Period: slot.Period, At: at.UTC()})
	return nil
}

// Release frees the slot a meeting holds (when it is cancelled, or a
// booking is undone). A meeting that holds none raises nothing, so a
// retried release is harmless.
func (c *TeacherCalendar) Release(meetingID string, at time.Time) error {
	if err := RequireID("meetingId", meetingID); err != nil {
		return err
	}
	old, ok := c.bookings[meetingID]
	if !ok {
		return nil
	}
	raise(c, CalendarSlotReleased{TeacherID: c.id, SchoolID: c.schoolID, MeetingID: meetingID,
		Date: old.Date, Period: old.Period, At: at.UTC()})
	return nil
}

func (c *TeacherCalendar) apply(e Event) {
	switch e := e.(type) {
	case CalendarSlotBooked:
		if c.bookings == nil {
			c.bookings = map[string]MeetingSlot{}
		}
		c.schoolID = e.SchoolID
		c.bookings[e.MeetingID] = MeetingSlot{Date: e.Date, Period: e.Period}
	case CalendarSlotReleased:
		delete(c.bookings, e.MeetingID)
	}
}

// TeacherID is the calendar's teacher (also its ID).
func (c *TeacherCalendar) TeacherID() string { return c.id }

// SchoolID is the school of the teacher; empty before the first booking.
func (c *TeacherCalendar) SchoolID() string { return c.schoolID }

// SlotOf returns the slot a meeting holds.
func (c *TeacherCalendar) SlotOf(meetingID string) (MeetingSlot, bool) {
	s, ok := c.bookings[meetingID]
	return s, ok
}

// HolderOf returns the meeting that holds a period of a date.
func (c *TeacherCalendar) HolderOf(date Date, period int) (string, bool) {
	for id, s := range c.bookings {
		if s.Date.Equal(date) && s.Period == period {
			return id, true
		}
	}
	return "", false
}

// Booked lists the booked meetings by date and period, in the form
// Meeting.Schedule takes (TeacherAvailability.BookedMeetings).
func (c *TeacherCalendar) Booked() []BookedMeeting {
	out := make([]BookedMeeting, 0, len(c.bookings))
	for id, s := range c.bookings {
		out = append(out, BookedMeeting{MeetingID: id, Date: s.Date, Period: s.Period})
	}
	slices.SortFunc(out, func(a, b BookedMeeting) int {
		return cmp.Or(a.Date.Time().Compare(b.Date.Time()), cmp.Compare(a.Period, b.Period), cmp.Compare(a.MeetingID, b.MeetingID))
	})
	return out
}

// Events of the teacher calendar.
var (
	CalendarSlotBookedType   = register[CalendarSlotBooked](ChannelCommunication)
	CalendarSlotReleasedType = register[CalendarSlotReleased](ChannelCommunication)
)

// CalendarSlotBooked: a meeting took a period of a date in its teacher's
// calendar.
type CalendarSlotBooked struct {
	TeacherID string    `json:"teacherId"`
	SchoolID  string    `json:"schoolId"`
	MeetingID string    `json:"meetingId"`
	Date      Date      `json:"date"`
	Period    int       `json:"period"`
	At        time.Time `json:"at"`
}

func (CalendarSlotBooked) EventType() string { return "calendar.slot_booked.v1" }

// CalendarSlotReleased: a meeting gave up its slot (moved or cancelled).
type CalendarSlotReleased struct {
	TeacherID string    `json:"teacherId"`
	SchoolID  string    `json:"schoolId"`
	MeetingID string    `json:"meetingId"`
	Date      Date      `json:"date"`
	Period    int       `json:"period"`
	At        time.Time `json:"at"`
}

func (CalendarSlotReleased) EventType() string { return "calendar.slot_released.v1" }
