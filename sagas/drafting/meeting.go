package drafting

import (
	"github.com/edusmarthub/edusmarthub/domain"
)

// Meeting is the input of MeetingScheduled, MeetingReminder and
// MeetingNoShow (parent_teacher_meeting). Each message goes to both the
// guardian and the teacher, so it addresses both.
type Meeting struct {
	SchoolName   string
	StudentName  string
	TeacherName  string
	GuardianName string
	Topic        string
	Date         domain.Date
	Period       int
	Periods      Periods // to show the period's clock time; optional
	// Rescheduled: the meeting moved to this slot.
	Rescheduled bool
	// Note says how the slot was chosen (optional), e.g. "the first
	// period the teacher is free that suits you both".
	Note string
	// Reason is why a meeting was marked a no-show (MeetingNoShow).
	Reason string
}

type meetingFields struct {
	School, Student, Teacher, Guardian, Topic, Date, At, Note, Reason string
	GuardianGreeting, TeacherGreeting                                 string
	Rescheduled                                                       bool
}

func meetingView(m Meeting) meetingFields {
	return meetingFields{
		School:      or(m.SchoolName, "The school"),
		Student:     or(m.StudentName, "the student"),
		Teacher:     or(m.TeacherName, "the teacher"),
		Guardian:    or(m.GuardianName, "the student's guardian"),
		Topic:       line(m.Topic),
		Date:        or(longDate(m.Date), "a date to be confirmed"),
		At:          m.Periods.at(m.Period),
		Note:        clause(m.Note),
		Reason:      clause(m.Reason),
		Rescheduled: m.Rescheduled,

		GuardianGreeting: or(m.GuardianName, "parent or guardian"),
		TeacherGreeting:  or(m.TeacherName, "teacher"),
	}
}

// The greeting names both sides; the fallbacks read as roles.
const meetingGreeting = `{{define "greeting"}}Dear {{.GuardianGreeting}} and {{.TeacherGreeting}},{{end}}`

var meetingScheduledTemplate = parse("meeting scheduled", meetingGreeting+`
{{- define "subject"}}Meeting about {{.Student}} {{if .Rescheduled}}moved to{{else}}on{{end}} {{.Date}}, {{.At}}{{end}}
{{- define "body"}}{{template "greeting" .}}

A meeting between {{.Guardian}} and {{.Teacher}} about {{.Student}} {{if .Rescheduled}}has been moved to{{else}}is scheduled for{{end}} {{.Date}}, {{.At}}.
{{- if .Topic}}

Topic: {{.Topic}}
{{- end}}
{{- if .Note}}

The time was chosen as {{.Note}}.
{{- end}}

If the time does not suit you, you can cancel the meeting in the app and request another one.

{{.School}}
{{- end}}`)

// MeetingScheduled drafts the message that a meeting was scheduled (or
// moved).
func MeetingScheduled(m Meeting) (subject, body string) {
	return render(meetingScheduledTemplate, meetingView(m))
}

var meetingReminderTemplate = parse("meeting reminder", meetingGreeting+`
{{- define "subject"}}Reminder: meeting about {{.Student}} on {{.Date}}, {{.At}}{{end}}
{{- define "body"}}{{template "greeting" .}}

This is a reminder of the meeting between {{.Guardian}} and {{.Teacher}} about {{.Student}} on {{.Date}}, {{.At}}.
{{- if .Topic}}

Topic: {{.Topic}}
{{- end}}

If you cannot come, please cancel the meeting in the app so the other side knows.

{{.School}}
{{- end}}`)

// MeetingReminder drafts the reminder sent before a meeting.
func MeetingReminder(m Meeting) (subject, body string) {
	return render(meetingReminderTemplate, meetingView(m))
}

var meetingNoShowTemplate = parse("meeting no-show", meetingGreeting+`
{{- define "subject"}}Meeting about {{.Student}} on {{.Date}} was not held{{end}}
{{- define "body"}}{{template "greeting" .}}

The meeting between {{.Guardian}} and {{.Teacher}} about {{.Student}} on {{.Date}}, {{.At}}, has been marked as not held (no-show){{if .Reason}}: {{.Reason}}{{end}}.

If you would still like to meet, please request a new meeting in the app.

{{.School}}
{{- end}}`)

// MeetingNoShow drafts the message that a meeting was marked a no-show.
func MeetingNoShow(m Meeting) (subject, body string) {
	return render(meetingNoShowTemplate, meetingView(m))
}
