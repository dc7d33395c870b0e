package drafting_test

import (
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// message is one drafting function applied to an input.
type message struct {
	name  string
	draft func() (subject, body string)
}

func date(s string) domain.Date {
	d, err := domain.ParseDate("date", s)
	if err != nil {
		panic(err)
	}
	return d
}

var (
	berlin = drafting.Periods{DayStart: 8 * time.Hour, PeriodLength: 45 * time.Minute, Timezone: "Europe/Berlin"}

	welcome = drafting.TeacherWelcome{
		SchoolName: "Northside School", TeacherName: "Ana Lopez", Subjects: []domain.Subject{"mathematics", "physics"},
		Lessons: []drafting.Lesson{
			{Day: domain.Tuesday, Period: 2, ClassName: "5B", Subject: "mathematics"},
			{Day: domain.Monday, Period: 3, ClassName: "10C", Subject: "mathematics"},
			{Day: domain.Monday, Period: 1, ClassName: "6A", Subject: "physics"},
		},
		Days:    []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday},
		Periods: berlin,
		Unfilled: []string{"5B mathematics: 1 of 4 weekly lessons unfilled (3 placed now): on every school day the " +
			"teacher has reached the maximum of 3 lessons a day (maxClassesPerDay)"},
	}
	onboarding = drafting.TeacherOnboarding{
		SchoolName: "Northside School", TeacherName: "Ana Lopez", Subjects: []domain.Subject{"mathematics"},
		TimetableVersion: 3, LessonsPlaced: 3, LessonsUnfilled: 1,
		Unfilled:    []string{"5B mathematics: 1 of 4 weekly lessons unfilled (3 placed now): on every school day the teacher has reached the maximum of 3 lessons a day (maxClassesPerDay)"},
		Explanation: []string{"Placed 3 of 4 lessons; 1 unfilled: the teacher's week is full (every school day has reached the daily maximum or has no free period left)."},
	}
	risk = drafting.RiskAlert{
		SchoolName: "Northside School", StudentName: "James Brown", ClassName: "5B", Level: domain.RiskHigh, Score: 0.72,
		Method: "rules-v1",
		Factors: []drafting.RiskFactor{
			{Name: "falling_grades", Value: 12.5, Weight: 0.4, Reason: "mathematics fell from 72 to 59.5 over 3 assessments"},
			{Name: "attendance", Value: 0.78, Weight: 0.3, Reason: "78% attendance in the last 30 days"},
		},
		AssessedOn: date("2026-03-03"), InterventionOpened: true,
		GuardianName: "Mary Brown", TeacherName: "Ana Lopez",
		SubjectsBelowPass: []domain.Subject{"mathematics"}, FallingSubjects: []domain.Subject{"mathematics", "physics"},
		AttendanceRate: 0.78, AttendanceDays: 30,
	}
	intervention = drafting.Intervention{
		SchoolName: "Northside School", StudentName: "James Brown", ClassName: "5B", TeacherName: "Ana Lopez",
		GuardianName: "Mary Brown", RiskLevel: domain.RiskHigh, Reason: "risk assessed high (score 0.72): falling grades, attendance",
		Plan: []string{"Weekly check-in with the class teacher", "Extra mathematics practice twice a week"}, FollowUpDue: date("2026-03-17"),
	}
	escalation = drafting.InterventionEscalation{
		StudentName: "James Brown", ClassName: "5B", TeacherName: "Ana Lopez",
		Reason: "no follow-up recorded within 14 days", OpenedOn: date("2026-03-03"), FollowUpDue: date("2026-03-17"),
	}
	closure = drafting.InterventionClosure{
		SchoolName: "Northside School", StudentName: "James Brown", ClassName: "5B", TeacherName: "Ana Lopez",
		GuardianName: "Mary Brown", Outcome: domain.OutcomeResolved,
		Reason: "a later assessment brought the risk down to low", Note: "Grades back above 60 in every subject.",
	}
	enrolled = drafting.Enrollment{SchoolName: "Northside School", StudentName: "Lily Chen", GuardianName: "Wei Chen",
		ClassName: "5B", TeacherName: "Ana Lopez"}
	waiting = drafting.Enrollment{SchoolName: "Northside School", StudentName: "Lily Chen", GuardianName: "Wei Chen",
		WaitingReason: "every grade-5 class is full (5A 30/30, 5B 30/30)."}
	invitation = drafting.Invitation{SchoolName: "Northside School", StudentName: "Lily Chen", GuardianName: "Wei Chen",
		Email: "wei.chen@example.org", SignInURL: "https://app.edusmarthub.example"}
	reminder = drafting.ExamReminder{TeacherName: "Ana Lopez", ExamName: "Spring exams", Term: "2025/26 term 2",
		DueDate: date("2026-03-20"), Missing: []drafting.MissingResult{
			{StudentName: "Zoe Adams", ClassName: "5B", Subjects: []domain.Subject{"mathematics"}},
			{StudentName: "Adam Baker", ClassName: "5B"},
			{StudentName: "Lily Chen", ClassName: "5A", Subjects: []domain.Subject{"mathematics", "physics"}},
		}}
	reportCard = drafting.ReportCard{SchoolName: "Northside School", StudentName: "Lily Chen", GuardianName: "Wei Chen",
		ExamName: "Spring exams", Term: "2025/26 term 2",
		Grades: []drafting.SubjectGrade{{Subject: "physics", Grade: 45.5}, {Subject: "mathematics", Grade: 81}}}
	meeting = drafting.Meeting{SchoolName: "Northside School", StudentName: "Lily Chen", TeacherName: "Ana Lopez",
		GuardianName: "Wei Chen", Topic: "Progress in mathematics", Date: date("2026-03-10"), Period: 5, Periods: berlin,
		Note: "the first period Ana Lopez is free that suits you both"}
	noShow = func() drafting.Meeting {
		m := meeting
		m.Reason = "no outcome was recorded within 2 hours of its start."
		return m
	}()
	maintenance = drafting.Maintenance{Title: "Database upgrade", Description: "PostgreSQL moves to a new major version.",
		StartsAt: time.Date(2026, 3, 7, 22, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 3, 8, 2, 30, 0, 0, time.UTC),
		ReadOnly: true, Reason: "postponed to next week"}
)

// full lists every message with a complete input.
func full() []message {
	return []message{
		{"Welcome", func() (string, string) { return drafting.Welcome(welcome) }},
		{"TeacherOnboarded", func() (string, string) { return drafting.TeacherOnboarded(onboarding) }},
		{"RiskAlertTeacher", func() (string, string) { return drafting.RiskAlertTeacher(risk) }},
		{"RiskAlertGuardians", func() (string, string) { return drafting.RiskAlertGuardians(risk) }},
		{"InterventionOpened", func() (string, string) { return drafting.InterventionOpened(intervention) }},
		{"InterventionOpenedGuardians", func() (string, string) { return drafting.InterventionOpenedGuardians(intervention) }},
		{"InterventionEscalated", func() (string, string) { return drafting.InterventionEscalated(escalation) }},
		{"InterventionClosed", func() (string, string) { return drafting.InterventionClosed(closure) }},
		{"InterventionClosedGuardians", func() (string, string) { return drafting.InterventionClosedGuardians(closure) }},
		{"EnrollmentWelcome placed", func() (string, string) { return drafting.EnrollmentWelcome(enrolled) }},
		{"EnrollmentWelcome waiting", func() (string, string) { return drafting.EnrollmentWelcome(waiting) }},
		{"GuardianInvitation", func() (string, string) { return drafting.GuardianInvitation(invitation) }},
		{"ExamResultsReminder", func() (string, string) { return drafting.ExamResultsReminder(reminder) }},
		{"ReportCardsPublished", func() (string, string) { return drafting.ReportCardsPublished(reportCard) }},
		{"MeetingScheduled", func() (string, string) { return drafting.MeetingScheduled(meeting) }},
		{"MeetingReminder", func() (string, string) { return drafting.MeetingReminder(meeting) }},
		{"MeetingNoShow", func() (string, string) { return drafting.MeetingNoShow(noShow) }},
		{"MaintenanceAnnouncement", func() (string, string) { return drafting.MaintenanceAnnouncement(maintenance) }},
		{"MaintenanceCancelled", func() (string, string) { return drafting.MaintenanceCancelled(maintenance) }},
	}
}

// empty lists every message with the zero input.
func empty() []message {
	return []message{
		{"Welcome", func() (string, string) { return drafting.Welcome(drafting.TeacherWelcome{}) }},
		{"TeacherOnboarded", func() (string, string) { return drafting.TeacherOnboarded(drafting.TeacherOnboarding{}) }},
		{"RiskAlertTeacher", func() (string, string) { return drafting.RiskAlertTeacher(drafting.RiskAlert{}) }},
		{"RiskAlertGuardians", func() (string, string) { return drafting.RiskAlertGuardians(drafting.RiskAlert{}) }},
		{"InterventionOpened", func() (string, string) { return drafting.InterventionOpened(drafting.Intervention{}) }},
		{"InterventionOpenedGuardians", func() (string, string) { return drafting.InterventionOpenedGuardians(drafting.Intervention{}) }},
		{"InterventionEscalated", func() (string, string) { return drafting.InterventionEscalated(drafting.InterventionEscalation{}) }},
		{"InterventionClosed", func() (string, string) { return drafting.InterventionClosed(drafting.InterventionClosure{}) }},
		{"InterventionClosedGuardians", func() (string, string) { return drafting.InterventionClosedGuardians(drafting.InterventionClosure{}) }},
		{"EnrollmentWelcome", func() (string, string) { return drafting.EnrollmentWelcome(drafting.Enrollment{}) }},
		{"GuardianInvitation", func() (string, string) { return drafting.GuardianInvitation(drafting.Invitation{}) }},
		{"ExamResultsReminder", func() (string, string) { return drafting.ExamResultsReminder(drafting.ExamReminder{}) }},
		{"ReportCardsPublished", func() (string, string) { return drafting.ReportCardsPublished(drafting.ReportCard{}) }},
		{"MeetingScheduled", func() (string, string) { return drafting.MeetingScheduled(drafting.Meeting{}) }},
		{"MeetingReminder", func() (string, string) { return drafting.MeetingReminder(drafting.Meeting{}) }},
		{"MeetingNoShow", func() (string, string) { return drafting.MeetingNoShow(drafting.Meeting{}) }},
		{"MaintenanceAnnouncement", func() (string, string) { return drafting.MaintenanceAnnouncement(drafting.Maintenance{}) }},
		{"MaintenanceCancelled", func() (string, string) { return drafting.MaintenanceCancelled(drafting.Maintenance{}) }},
	}
}
