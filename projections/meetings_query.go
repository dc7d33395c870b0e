package projections

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Meeting is a parent–teacher meeting in the calendar.
type Meeting struct {
	MeetingID    string     `json:"meetingId"`
	StudentID    string     `json:"studentId"`
	TeacherID    string     `json:"teacherId"`
	GuardianID   string     `json:"guardianId"`
	RequestedBy  string     `json:"requestedBy"`
	Topic        string     `json:"topic"`
	Status       string     `json:"status"`         // requested | scheduled | completed | cancelled | no_show
	Date         string     `json:"date,omitempty"` // YYYY-MM-DD; empty while only requested
	Period       int        `json:"period,omitempty"`
	Reschedules  int        `json:"reschedules"`
	Notes        string     `json:"notes,omitempty"`
	CancelReason string     `json:"cancelReason,omitempty"`
	RequestedAt  time.Time  `json:"requestedAt"`
	ScheduledAt  *time.Time `json:"scheduledAt,omitempty"`
	CompletedAt  *time.Time `json:"completedAt,omitempty"`
	CancelledAt  *time.Time `json:"cancelledAt,omitempty"`
	NoShowReason string     `json:"noShowReason,omitempty"` // status no_show: why it did not take place
	NoShowAt     *time.Time `json:"noShowAt,omitempty"`     // when it was marked a no-show
}

// MeetingFilter selects meetings: a teacher's or a guardian's calendar
// (or both, or neither for the school's), by student, status and date
// range (YYYY-MM-DD, inclusive; meetings without a date are outside any
// range). Meetings come in calendar order: by date and period, the ones
// without a date last.
type MeetingFilter struct {
	TeacherID  string
	GuardianID string
	StudentID  string
	Status     string
	From, To   string
	PageParams
}

const meetingColumns = `meeting_id, student_id, teacher_id, guardian_id, requested_by, topic, status,
    coalesce(date::text, ''), coalesce(period, 0), reschedules, notes, cancel_reason, requested_at, scheduled_at,
    completed_at, cancelled_at, no_show_reason, no_show_at`

func scanMeeting(r pgx.Row) (Meeting, error) {
	var m Meeting
	err := r.Scan(&m.MeetingID, &m.StudentID, &m.TeacherID, &m.GuardianID, &m.RequestedBy, &m.Topic, &m.Status,
		&m.Date, &m.Period, &m.Reschedules, &m.Notes, &m.CancelReason, &m.RequestedAt, &m.ScheduledAt,
		&m.CompletedAt, &m.CancelledAt, &m.NoShowReason, &m.NoShowAt)
	return m, err
}

// GetMeeting returns one meeting.
func GetMeeting(ctx context.Context, db Querier, schoolID, meetingID string) (Meeting, error) {
	if err := requireSchool(schoolID); err != nil {
		return Meeting{}, err
	}
	m, err := scanMeeting(db.QueryRow(ctx, `SELECT `+meetingColumns+` FROM rm_meetings.meetings
WHERE school_id = $1 AND meeting_id = $2`, schoolID, meetingID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Meeting{}, notFound("meeting %s not found", meetingID)
	}
	return m, err
}

// ListMeetings lists meetings in calendar order.
func ListMeetings(ctx context.Context, db Querier, schoolID string, f MeetingFilter) (Page[Meeting], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Meeting]{}, err
	}
	// Undated meetings sort last: their key is a date after any real one.
	p, err := keyset{list: "meetings",
		cols: []sortKey{{"coalesce(date, 'infinity'::date)", "date"}, {"coalesce(period, 0)", "int"}, {"meeting_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[Meeting]{}, err
	}
	from, err := dateParam("from", f.From)
	if err != nil {
		return Page[Meeting]{}, err
	}
	to, err := dateParam("to", f.To)
	if err != nil {
		return Page[Meeting]{}, err
	}
	var q sqlQuery
	q.where("school_id = " + q.arg(schoolID))
	if f.TeacherID != "" {
		q.where("teacher_id = " + q.arg(f.TeacherID))
	}
	if f.GuardianID != "" {
		q.where("guardian_id = " + q.arg(f.GuardianID))
	}
	if f.StudentID != "" {
		q.where("student_id = " + q.arg(f.StudentID))
	}
	if f.Status != "" {
		st, err := domain.MeetingStatusFromString("status", f.Status)
		if err != nil {
			return Page[Meeting]{}, err
		}
		q.where("status = " + q.arg(string(st)))
	}
	if from != nil {
		q.where("date >= " + q.arg(*from))
	}
	if to != nil {
		q.where("date <= " + q.arg(*to))
	}
	return queryPage(ctx, db, p, `SELECT `+meetingColumns+` FROM rm_meetings.meetings`, &q,
		func(r pgx.Rows) (Meeting, error) { return scanMeeting(r) },
		func(m Meeting) []string {
			date := m.Date
			if date == "" {
				date = "infinity"
			}
			return []string{date, strconv.Itoa(m.Period), m.MeetingID}
		})
}
