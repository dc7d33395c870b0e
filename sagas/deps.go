package sagas

import (
	"context"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Deps is what the workflows need besides the runtime.
type Deps struct {
	Repo      *commands.Repository
	Notifier  Notifier
	Directory Directory
	Settings  Settings
}

// Notifier tells people something. The default, InboxNotifier, sends an
// in-app message (a message.sent.v1 event on the communication channel,
// which the inbox read model shows and the e-mail and webhook deliveries
// of package notify pick up).
type Notifier interface {
	// Notify sends n as a command with metadata m (its CommandID makes a
	// repeat a no-op) and returns the message's stream result.
	Notify(ctx context.Context, m commands.Meta, n Notification) (commands.Result, error)
}

// Notification is one message to one or more recipients of a school.
type Notification struct {
	Recipients []domain.RecipientInput
	Subject    string
	Body       string
	Category   string // a domain.MessageCategory value
	RelatedTo  string // e.g. "student-<id>"
}

// Directory answers the questions of workflows that no single stream
// answers (which classes a school has, how often a student attended).
// It reads the projections' read models, so it may lag the store by a
// moment: workflows use it to find candidates and let the commands, which
// read the store, decide.
type Directory interface {
	// Schools lists every school.
	Schools(ctx context.Context) ([]SchoolSummary, error)
	// Classes lists a school's classes.
	Classes(ctx context.Context, schoolID string) ([]ClassSummary, error)
	// Attendance counts a student's register entries recorded for dates in
	// [from, to].
	Attendance(ctx context.Context, schoolID, studentID string, from, to domain.Date) (AttendanceSummary, error)
	// GuardianMeetings lists the slots of a guardian's scheduled meetings
	// (not cancelled) on dates in [from, to].
	GuardianMeetings(ctx context.Context, schoolID, guardianID string, from, to domain.Date) ([]domain.MeetingSlot, error)
}

// SchoolSummary is one school of Directory.Schools.
type SchoolSummary struct {
	ID       string
	Name     string
	Timezone string
}

// ClassSummary is one class of Directory.Classes.
type ClassSummary struct {
	ID         string
	Name       string
	GradeLevel int
	Capacity   int
	Size       int // students on the roster
}

// AttendanceSummary counts register entries by status.
type AttendanceSummary struct {
	Present, Late, Absent, Excused int
}

// Total is the number of entries counted.
func (a AttendanceSummary) Total() int { return a.Present + a.Late + a.Absent + a.Excused }

// Settings are the workflows' tunables (EDUSMARTHUB_* settings in serve).
type Settings struct {
	// InterventionFollowUp is how long an intervention may go without a
	// follow-up before it is escalated to the school's administrators.
	InterventionFollowUp time.Duration
	// LessonsPerWeek is how many lessons a week each subject of a class
	// needs (the teacher-onboarding scheduler fills up to it).
	LessonsPerWeek int
	// SchoolDays are the days lessons and meetings can be held.
	SchoolDays []domain.Weekday
	// PeriodsPerDay is how many periods of the day the scheduler uses.
	PeriodsPerDay int
	// DayStart is when period 1 starts (school-local time, since
	// midnight) and PeriodLength how long a period lasts.
	DayStart, PeriodLength time.Duration
	// ExamResultsGrace is how long after an exam's end date its results
	// are due; missing ones then get a reminder to their teacher.
	ExamResultsGrace time.Duration
	// MeetingReminder is how long before a meeting both sides are
	// reminded; MeetingNoShowAfter how long after its start a meeting
	// with no outcome is marked a no-show.
	MeetingReminder, MeetingNoShowAfter time.Duration
	// PlacementRetry is how often an enrolled student waiting for a class
	// is tried again.
	PlacementRetry time.Duration
	// AssessmentWindow is how many recent assessments per subject the risk
	// analysis reads; AttendanceWindow how far back it counts attendance.
	AssessmentWindow int
	AttendanceWindow time.Duration
}

// DefaultSettings are the settings serve uses when none are configured.
func DefaultSettings() Settings {
	return Settings{
		InterventionFollowUp: 14 * 24 * time.Hour,
		LessonsPerWeek:       4,
		SchoolDays:           []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday, domain.Friday},
		PeriodsPerDay:        8,
		DayStart:             8 * time.Hour,
		PeriodLength:         time.Hour,
		ExamResultsGrace:     72 * time.Hour,
		MeetingReminder:      24 * time.Hour,
		MeetingNoShowAfter:   2 * time.Hour,
		PlacementRetry:       time.Hour,
		AssessmentWindow:     5,
		AttendanceWindow:     30 * 24 * time.Hour,
	}
}

// InboxNotifier is the default Notifier: an in-app message through the
// SendMessage command.
type InboxNotifier struct {
	Send commands.Handler[commands.SendMessage]
}

// NewInboxNotifier returns the in-app notifier over repo.
func NewInboxNotifier(repo *commands.Repository) InboxNotifier {
	return InboxNotifier{Send: commands.NewSendMessageHandler(repo)}
}

func (n InboxNotifier) Notify(ctx context.Context, m commands.Meta, msg Notification) (commands.Result, error) {
	return n.Send.Handle(ctx, m, commands.SendMessage{
		MessageID:  commands.NewID(m, "message"),
		Recipients: msg.Recipients,
		Subject:    msg.Subject,
		Body:       msg.Body,
		Category:   msg.Category,
		RelatedTo:  msg.RelatedTo,
	})
}
