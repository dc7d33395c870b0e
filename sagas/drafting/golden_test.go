package drafting_test

import (
	"testing"
)

// The expected texts, word for word: a change to a template shows here.
var golden = []struct{ name, subject, body string }{
	{"Welcome", "Welcome to Northside School, Ana Lopez", `Dear Ana Lopez,

Welcome to Northside School. You teach mathematics and physics.

Your weekly timetable has 3 lessons:

Monday     period 1  08:00–08:45  6A   physics
           period 3  09:30–10:15  10C  mathematics
Tuesday    period 2  08:45–09:30  5B   mathematics
Wednesday  no lessons

Not scheduled yet (the school office will follow up):
- 5B mathematics: 1 of 4 weekly lessons unfilled (3 placed now): on every school day the teacher has reached the maximum of 3 lessons a day (maxClassesPerDay)

The timetable was drafted by the school's scheduler from your subjects, the classes that need them, your preferred time slots and your maximum of lessons a day. Please tell the school office if something should change.

Northside School`},
	{"TeacherOnboarded", "Teacher onboarded: Ana Lopez (1 lesson unfilled)", `Ana Lopez has joined Northside School to teach mathematics.

New lessons for them in timetable version 3: 3; lessons that could not be placed: 1. They receive a welcome message with their weekly timetable.

Not scheduled, and why:
- 5B mathematics: 1 of 4 weekly lessons unfilled (3 placed now): on every school day the teacher has reached the maximum of 3 lessons a day (maxClassesPerDay)

How the scheduler decided:
- Placed 3 of 4 lessons; 1 unfilled: the teacher's week is full (every school day has reached the daily maximum or has no free period left).`},
	{"RiskAlertTeacher", "Risk alert: James Brown (5B) assessed at high risk", `James Brown in 5B was assessed at high risk (score 0.72) on Tuesday 3 March 2026.

Factors (value, weight, reason):
- falling_grades: 12.5, weight 0.4 — mathematics fell from 72 to 59.5 over 3 assessments
- attendance: 0.78, weight 0.3 — 78% attendance in the last 30 days

An intervention has been opened for James Brown; you will receive its plan in a separate message.

How this was assessed: a deterministic, rule-based score (rules-v1) computed from the student's recorded grades and attendance. No machine learning is involved; each factor above shows what it added and why.`},
	{"RiskAlertGuardians", "About James Brown's progress at school", `Dear Mary Brown,

We regularly look at every student's grades and attendance. Our latest review suggests that James Brown would benefit from some extra support.

What we noticed:
- grades in mathematics are below the pass mark
- grades in mathematics and physics have gone down over the last assessments
- attended 78% of school days in the last 30 days

Ana Lopez will set up a support plan with James Brown and keep you informed of it.

If you would like to talk about it, please contact Ana Lopez; you can also request a meeting in the app.

Northside School`},
	{"InterventionOpened", "Intervention for James Brown (5B) assigned to you", `Dear Ana Lopez,

An intervention has been opened for James Brown in 5B after an assessment at high risk, and you lead it.

Why: risk assessed high (score 0.72): falling grades, attendance

The plan:
1. Weekly check-in with the class teacher
2. Extra mathematics practice twice a week

Please record a follow-up by Tuesday 17 March 2026; without one by then, the intervention is escalated to the school administrators. The student's guardians have been told that a support plan is starting.`},
	{"InterventionOpenedGuardians", "A support plan for James Brown", `Dear Mary Brown,

To help James Brown get back on track at school, Ana Lopez will lead a support plan with James Brown.

What it includes:
- Weekly check-in with the class teacher
- Extra mathematics practice twice a week

We will look at how it is going by Tuesday 17 March 2026 and keep you informed. Please contact Ana Lopez with any questions; you can also request a meeting in the app.

Northside School`},
	{"InterventionEscalated", "Escalated: intervention for James Brown (5B) has no follow-up", `The intervention for James Brown in 5B, opened on Tuesday 3 March 2026 and assigned to Ana Lopez, had no follow-up recorded by its due date, Tuesday 17 March 2026. It is now escalated to the school administrators.

Reason: no follow-up recorded within 14 days

Please check with Ana Lopez, then record a follow-up or close the intervention.`},
	{"InterventionClosed", "Intervention closed for James Brown (5B): resolved", `The intervention for James Brown in 5B, led by Ana Lopez, is closed. Outcome: resolved (the student is back on track).

Why: a later assessment brought the risk down to low

Closing note: Grades back above 60 in every subject.`},
	{"InterventionClosedGuardians", "James Brown's support plan has ended", `Dear Mary Brown,

James Brown's support plan has ended. James Brown is back on track.

Thank you for your support. If you have any questions, please contact Ana Lopez.

Northside School`},
	{"EnrollmentWelcome placed", "Welcome to Northside School, Lily Chen", `Dear Wei Chen,

Lily Chen is now enrolled at Northside School.

Lily Chen has been placed in class 5B, whose class teacher is Ana Lopez. The class timetable, attendance and grades are in the app from today.

You will receive a separate invitation to your guardian account, where you can follow timetables, attendance and grades, read messages from school and request meetings with teachers.

We look forward to working with you.

Northside School`},
	{"EnrollmentWelcome waiting", "Welcome to Northside School, Lily Chen", `Dear Wei Chen,

Lily Chen is now enrolled at Northside School.

Lily Chen is not in a class yet: every grade-5 class is full (5A 30/30, 5B 30/30). We will place Lily Chen as soon as a place is free and let you know.

You will receive a separate invitation to your guardian account, where you can follow timetables, attendance and grades, read messages from school and request meetings with teachers.

We look forward to working with you.

Northside School`},
	{"GuardianInvitation", "Your guardian account at Northside School", `Dear Wei Chen,

Northside School has invited you to EduSmartHub as a guardian of Lily Chen. With your account you can follow Lily Chen's timetable, attendance and grades, read messages from school and request meetings with teachers.

To start, sign in at https://app.edusmarthub.example with your e-mail address wei.chen@example.org.

If you did not expect this invitation, please tell the school office.

Northside School`},
	{"ExamResultsReminder", "Reminder: 3 students' results missing for Spring exams", `Dear Ana Lopez,

The results of Spring exams (2025/26 term 2) were due on Friday 20 March 2026, and 3 students' results are still missing:

5A:
- Lily Chen (mathematics and physics)

5B:
- Adam Baker
- Zoe Adams (mathematics)

Please record them in the app. Grades and report cards are published once every student on the roster has a result.`},
	{"ReportCardsPublished", "Lily Chen's report card for Spring exams is ready", `Dear Wei Chen,

Lily Chen's report card for Spring exams (2025/26 term 2) has been published.

Mathematics     81
Physics       45.5  below the pass mark

Grades are out of 100; the pass mark is 50.

You can read the full report card in the app. If you would like to talk about it, you can request a meeting with a teacher there.

Northside School`},
	{"MeetingScheduled", "Meeting about Lily Chen on Tuesday 10 March 2026, period 5 (11:00–11:45, Europe/Berlin time)", `Dear Wei Chen and Ana Lopez,

A meeting between Wei Chen and Ana Lopez about Lily Chen is scheduled for Tuesday 10 March 2026, period 5 (11:00–11:45, Europe/Berlin time).

Topic: Progress in mathematics

The time was chosen as the first period Ana Lopez is free that suits you both.

If the time does not suit you, you can cancel the meeting in the app and request another one.

Northside School`},
	{"MeetingReminder", "Reminder: meeting about Lily Chen on Tuesday 10 March 2026, period 5 (11:00–11:45, Europe/Berlin time)", `Dear Wei Chen and Ana Lopez,

This is a reminder of the meeting between Wei Chen and Ana Lopez about Lily Chen on Tuesday 10 March 2026, period 5 (11:00–11:45, Europe/Berlin time).

Topic: Progress in mathematics

If you cannot come, please cancel the meeting in the app so the other side knows.

Northside School`},
	{"MeetingNoShow", "Meeting about Lily Chen on Tuesday 10 March 2026 was not held", `Dear Wei Chen and Ana Lopez,

The meeting between Wei Chen and Ana Lopez about Lily Chen on Tuesday 10 March 2026, period 5 (11:00–11:45, Europe/Berlin time), has been marked as not held (no-show): no outcome was recorded within 2 hours of its start.

If you would still like to meet, please request a new meeting in the app.

Northside School`},
	{"MaintenanceAnnouncement", "Planned maintenance: Database upgrade, Saturday 7 March 2026, 22:00 to Sunday 8 March 2026, 02:30 UTC", `Dear administrators,

EduSmartHub has planned maintenance:

Database upgrade
From: Saturday 7 March 2026, 22:00 UTC
To:   Sunday 8 March 2026, 02:30 UTC (4 hours 30 minutes)

PostgreSQL moves to a new major version.

During this window EduSmartHub is read-only: everything can still be read, but changes (attendance, grades, messages and any other update) are refused with an answer to try again later, until the window ends. Nothing already saved is affected.

All times are in UTC (coordinated universal time). Please let your staff know.

The EduSmartHub platform team`},
	{"MaintenanceCancelled", "Maintenance cancelled: Database upgrade", `Dear administrators,

The maintenance "Database upgrade" planned for Saturday 7 March 2026, 22:00 to Sunday 8 March 2026, 02:30 UTC is cancelled: postponed to next week. EduSmartHub stays available as usual, and the read-only window will not take place.

The EduSmartHub platform team`},
}

func TestDraftsGolden(t *testing.T) {
	t.Parallel()
	msgs := full()
	if len(msgs) != len(golden) {
		t.Fatalf("%d messages, %d golden texts", len(msgs), len(golden))
	}
	for i, m := range msgs {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			want := golden[i]
			if want.name != m.name {
				t.Fatalf("golden text %d is %q, not %q", i, want.name, m.name)
			}
			subject, body := m.draft()
			if subject != want.subject {
				t.Errorf("subject\n%q\nwant\n%q", subject, want.subject)
			}
			if body != want.body {
				t.Errorf("body\n%s\n--- want\n%s", body, want.body)
			}
		})
	}
}
