package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Meeting is a parent–teacher meeting about a student: requested, then
// scheduled in a free slot of the teacher (and possibly rescheduled), then
// completed, cancelled or marked a no-show (stream meeting-<id>).
type Meeting struct {
	Root
	schoolID    string
	studentID   string
	teacherID   string
	guardianID  string
	requestedBy string
	topic       string
	status      MeetingStatus
	slot        MeetingSlot
	notes       string
	reason      string // why it was cancelled or marked a no-show
}

// MeetingStatus is where a meeting stands. Stored values: append-only,
// never rename.
type MeetingStatus string

const (
	MeetingStatusRequested MeetingStatus = "requested"
	MeetingStatusScheduled MeetingStatus = "scheduled"
	MeetingStatusCompleted MeetingStatus = "completed"
	MeetingStatusCancelled MeetingStatus = "cancelled"
	// MeetingStatusNoShow: the meeting's time came and it did not take
	// place (someone did not come); nothing more happens to it.
	MeetingStatusNoShow MeetingStatus = "no_show"
)

// MeetingStatusFromString parses a meeting status (for query filters).
func MeetingStatusFromString(field, s string) (MeetingStatus, error) {
	switch st := MeetingStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case MeetingStatusRequested, MeetingStatusScheduled, MeetingStatusCompleted, MeetingStatusCancelled, MeetingStatusNoShow:
		return st, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not a meeting status (requested, scheduled, completed, cancelled, no_show)", s)
}

func (s MeetingStatus) IsZero() bool   { return s == "" }
func (s MeetingStatus) String() string { return string(s) }

// MeetingSlot is a teaching period on a calendar date.
type MeetingSlot struct {
	Date   Date `json:"date"`
	Period int  `json:"period"`
}

func (s MeetingSlot) IsZero() bool   { return s.Date.IsZero() }
func (s MeetingSlot) String() string { return fmt.Sprintf("%s/p%d", s.Date, s.Period) }

// BookedMeeting is another meeting the teacher has in a slot.
type BookedMeeting struct {
	MeetingID string
	Date      Date
	Period    int
}

// TeacherAvailability is what the command layer knows of a teacher's time
// when scheduling a meeting: the weekly timetable slots they teach
// (BusySlots) and their other scheduled meetings. Listing this meeting
// among BookedMeetings is harmless: a meeting never clashes with itself.
type TeacherAvailability struct {
	BusySlots      []Slot
	BookedMeetings []BookedMeeting
}

// Sentinels of the meeting.
var (
	ErrMeetingExists       = errors.New("meeting already requested")
	ErrMeetingNotFound     = errors.New("meeting not found")
	ErrMeetingClosed       = errors.New("meeting is over (completed, cancelled or a no-show)")
	ErrMeetingNotScheduled = errors.New("meeting is not scheduled")
	ErrMeetingNotHeldYet   = errors.New("meeting has not taken place yet")
	// ErrSlotTaken: the teacher teaches or meets someone else in the slot.
	ErrSlotTaken = errors.New("slot is taken")
)

const (
	maxMeetingTopic  = 200
	maxMeetingNotes  = 4000
	maxMeetingReason = 500
)

// NewMeeting returns the blank meeting with the given ID, to load its
// stream into. It validates nothing: Request checks the ID.
func NewMeeting(id string) *Meeting { return &Meeting{Root: Root{id: id}} }

// StreamID is "meeting-<id>".
func (m *Meeting) StreamID() string { return "meeting-" + m.id }

// MeetingRequest is the input of Meeting.Request. The command layer checks
// that the guardian is linked to the student and the teacher teaches them.
type MeetingRequest struct {
	SchoolID    string
	StudentID   string
	TeacherID   string
	GuardianID  string
	RequestedBy string
	Topic       string
}

// Request asks for a meeting between a teacher and a guardian about a
// student.
func (m *Meeting) Request(in MeetingRequest, at time.Time) error {
	if err := RequireID("meetingId", m.id); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"schoolId", in.SchoolID}, {"studentId", in.StudentID}, {"teacherId", in.TeacherID},
		{"guardianId", in.GuardianID}, {"requestedBy", in.RequestedBy},
	} {
		if err := RequireID(f.name, f.v); err != nil {
			return err
		}
	}
	topic, err := RequireText("topic", in.Topic, maxMeetingTopic)
	if err != nil {
		return err
	}
	if m.status != "" {
		return ruleError(KindConflict, "", ErrMeetingExists, "meeting %s was already requested", m.id)
	}
	raise(m, MeetingRequested{
		MeetingID:   m.id,
		SchoolID:    in.SchoolID,
		StudentID:   in.StudentID,
		TeacherID:   in.TeacherID,
		GuardianID:  in.GuardianID,
		RequestedBy: in.RequestedBy,
		Topic:       topic,
		At:          at.UTC(),
	})
	return nil
}

// Schedule puts a requested meeting in a period of a date, or moves a
// scheduled one. The slot must be free in the teacher's timetable and
// meetings, and not in the past. Scheduling into the slot it already has
// changes nothing and raises no event.
func (m *Meeting) Schedule(date Date, period int, availability TeacherAvailability, by string, at time.Time) error {
	switch {
	case date.IsZero():
		return Invalid("date", "is required")
	case date.Before(earliestDateAt(at)):
		return Invalid("date", "%s is in the past", date)
	}
	if period < 1 || period > MaxPeriod {
		return Invalid("period", "must be between 1 and %d, got %d", MaxPeriod, period)
	}
	if err := RequireID("scheduledBy", by); err != nil {
		return err
	}
	if err := m.requireOpen(); err != nil {
		return err
	}
	if m.status == MeetingStatusScheduled && m.slot.Date.Equal(date) && m.slot.Period == period {
		return nil
	}
	weekly := Slot{Day: WeekdayOf(date), Period: period}
	for _, busy := range availability.BusySlots {
		if busy == weekly {
			return ruleError(KindConflict, "period", ErrSlotTaken,
				"teacher %s teaches on %s in period %d", m.teacherID, weekly.Day, period)
		}
	}
	for _, b := range availability.BookedMeetings {
		if b.MeetingID != m.id && b.Date.Equal(date) && b.Period == period {
			return ruleError(KindConflict, "period", ErrSlotTaken,
				"teacher %s has another meeting on %s in period %d", m.teacherID, date, period)
		}
	}
	raise(m, MeetingScheduled{
		MeetingID:   m.id,
		SchoolID:    m.schoolID,
		StudentID:   m.studentID,
		TeacherID:   m.teacherID,
		GuardianID:  m.guardianID,
		Date:        date,
		Period:      period,
		Rescheduled: m.status == MeetingStatusScheduled,
		ScheduledBy: by,
		At:          at.UTC(),
	})
	return nil
}

// Complete records that a scheduled meeting took place, with optional
// notes. It cannot be completed before its date.
func (m *Meeting) Complete(notes, by string, at time.Time) error {
	notes, err := optionalText("notes", notes, maxMeetingNotes)
	if err != nil {
		return err
	}
	if err := RequireID("completedBy", by); err != nil {
		return err
	}
	if err := m.requireDue(at); err != nil {
		return err
	}
	raise(m, MeetingCompleted{
		MeetingID:   m.id,
		SchoolID:    m.schoolID,
		Notes:       notes,
		CompletedBy: by,
		At:          at.UTC(),
	})
	return nil
}

// requireOpen: the meeting exists and has no outcome yet.
func (m *Meeting) requireOpen() error {
	switch m.status {
	case "":
		return m.notFound()
	case MeetingStatusCompleted, MeetingStatusCancelled, MeetingStatusNoShow:
		return m.closed()
	}
	return nil
}

// requireDue: the meeting is open, scheduled, and its date has come by
// at, so an outcome (held or not) can be recorded.
func (m *Meeting) requireDue(at time.Time) error {
	if err := m.requireOpen(); err != nil {
		return err
	}
	if m.status == MeetingStatusRequested {
		return ruleError(KindConflict, "", ErrMeetingNotScheduled, "meeting %s has not been scheduled", m.id)
	}
	if m.slot.Date.After(latestDateAt(at)) {
		return ruleError(KindConflict, "", ErrMeetingNotHeldYet, "meeting %s is scheduled for %s", m.id, m.slot)
	}
	return nil
}

// Cancel calls off a requested or scheduled meeting.
func (m *Meeting) Cancel(reason, by string, at time.Time) error {
	reason, err := RequireText("reason", reason, maxMeetingReason)
	if err != nil {
		return err
	}
	if err := RequireID("cancelledBy", by); err != nil {
		return err
	}
	if err := m.requireOpen(); err != nil {
		return err
	}
	raise(m, MeetingCancelled{
		MeetingID:   m.id,
		SchoolID:    m.schoolID,
		Reason:      reason,
		CancelledBy: by,
		At:          at.UTC(),
	})
	return nil
}

// MarkNoShow records that a scheduled meeting did not take place: its
// date has come (today or earlier) and no outcome was recorded. The slot
// stays booked in the teacher's calendar, as for a completed meeting: its
// time was set aside.
func (m *Meeting) MarkNoShow(reason, by string, at time.Time) error {
	reason, err := RequireText("reason", reason, maxMeetingReason)
	if err != nil {
		return err
	}
	if err := RequireID("recordedBy", by); err != nil {
		return err
	}
	if err := m.requireDue(at); err != nil {
		return err
	}
	raise(m, MeetingNoShow{
		MeetingID:  m.id,
		SchoolID:   m.schoolID,
		Reason:     reason,
		RecordedBy: by,
		At:         at.UTC(),
	})
	return nil
}

func (m *Meeting) notFound() error {
	return ruleError(KindNotFound, "", ErrMeetingNotFound, "meeting %s does not exist", m.id)
}

func (m *Meeting) closed() error {
	return ruleError(KindConflict, "", ErrMeetingClosed, "meeting %s is %s", m.id, m.status)
}

func (m *Meeting) apply(e Event) {
	switch e := e.(type) {
	case MeetingRequested:
		m.schoolID, m.studentID, m.teacherID, m.guardianID = e.SchoolID, e.StudentID, e.TeacherID, e.GuardianID
		m.requestedBy, m.topic = e.RequestedBy, e.Topic
		m.status = MeetingStatusRequested
	case MeetingScheduled:
		m.slot = MeetingSlot{Date: e.Date, Period: e.Period}
		m.status = MeetingStatusScheduled
	case MeetingCompleted:
		m.notes = e.Notes
		m.status = MeetingStatusCompleted
	case MeetingCancelled:
		m.reason = e.Reason
		m.status = MeetingStatusCancelled
	case MeetingNoShow:
		m.reason = e.Reason
		m.status = MeetingStatusNoShow
	}
}

// Status is requested, scheduled, completed, cancelled or no_show; zero
// before Request.
func (m *Meeting) Status() MeetingStatus { return m.status }

// Slot is the date and period the meeting is (or was last) scheduled in;
// zero while only requested.
func (m *Meeting) Slot() MeetingSlot { return m.slot }

func (m *Meeting) SchoolID() string    { return m.schoolID }
func (m *Meeting) StudentID() string   { return m.studentID }
func (m *Meeting) TeacherID() string   { return m.teacherID }
func (m *Meeting) GuardianID() string  { return m.guardianID }
func (m *Meeting) RequestedBy() string { return m.requestedBy }
func (m *Meeting) Topic() string       { return m.topic }
func (m *Meeting) Notes() string       { return m.notes }

// CancelReason is why the meeting was cancelled or marked a no-show.
func (m *Meeting) CancelReason() string { return m.reason }

// Events of the meeting.
var (
	MeetingRequestedType = register[MeetingRequested](ChannelCommunication)
	MeetingScheduledType = register[MeetingScheduled](ChannelCommunication)
	MeetingCompletedType = register[MeetingCompleted](ChannelCommunication)
	MeetingCancelledType = register[MeetingCancelled](ChannelCommunication)
	MeetingNoShowType    = register[MeetingNoShow](ChannelCommunication)
)

// MeetingRequested: a guardian–teacher meeting about a student was asked for.
type MeetingRequested struct {
	MeetingID   string    `json:"meetingId"`
	SchoolID    string    `json:"schoolId"`
	StudentID   string    `json:"studentId"`
	TeacherID   string    `json:"teacherId"`
	GuardianID  string    `json:"guardianId"`
	RequestedBy string    `json:"requestedBy"`
	Topic       string    `json:"topic"`
	At          time.Time `json:"at"`
}

func (MeetingRequested) EventType() string { return "meeting.requested.v1" }

// MeetingScheduled: the meeting was put in (or, Rescheduled, moved to) a
// period of a date. The participants are repeated for the notifiers.
type MeetingScheduled struct {
	MeetingID   string    `json:"meetingId"`
	SchoolID    string    `json:"schoolId"`
	StudentID   string    `json:"studentId"`
	TeacherID   string    `json:"teacherId"`
	GuardianID  string    `json:"guardianId"`
	Date        Date      `json:"date"`
	Period      int       `json:"period"`
	Rescheduled bool      `json:"rescheduled,omitempty"`
	ScheduledBy string    `json:"scheduledBy"`
	At          time.Time `json:"at"`
}

func (MeetingScheduled) EventType() string { return "meeting.scheduled.v1" }

// MeetingCompleted: the meeting took place.
type MeetingCompleted struct {
	MeetingID   string    `json:"meetingId"`
	SchoolID    string    `json:"schoolId"`
	Notes       string    `json:"notes,omitempty"`
	CompletedBy string    `json:"completedBy"`
	At          time.Time `json:"at"`
}

func (MeetingCompleted) EventType() string { return "meeting.completed.v1" }

// MeetingCancelled: the meeting was called off.
type MeetingCancelled struct {
	MeetingID   string    `json:"meetingId"`
	SchoolID    string    `json:"schoolId"`
	Reason      string    `json:"reason"`
	CancelledBy string    `json:"cancelledBy"`
	At          time.Time `json:"at"`
}

func (MeetingCancelled) EventType() string { return "meeting.cancelled.v1" }

// MeetingNoShow: the scheduled meeting did not take place; Reason says
// what is known (e.g. no outcome recorded two hours after its start).
type MeetingNoShow struct {
	MeetingID  string    `json:"meetingId"`
	SchoolID   string    `json:"schoolId"`
	Reason     string    `json:"reason"`
	RecordedBy string    `json:"recordedBy"`
	At         time.Time `json:"at"`
}

func (MeetingNoShow) EventType() string { return "meeting.no_show.v1" }
