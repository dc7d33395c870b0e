package drafting_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// gaps returns what is wrong with a drafted text: an unfilled template
// field, an empty placeholder, a broken layout, a size over the limits.
func gaps(subject, body string) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	switch {
	case strings.TrimSpace(subject) == "":
		fail("empty subject")
	case strings.ContainsAny(subject, "\n\r\t"):
		fail("subject %q is not one line", subject)
	case len(subject) > drafting.MaxSubjectBytes:
		fail("subject of %d bytes", len(subject))
	case strings.Contains(subject, "  "):
		fail("subject %q has a gap", subject)
	}
	if strings.TrimSpace(body) == "" {
		fail("empty body")
	}
	if len(body) > drafting.MaxBodyBytes {
		fail("body of %d bytes", len(body))
	}
	if !utf8.ValidString(subject) || !utf8.ValidString(body) {
		fail("invalid UTF-8")
	}
	for _, text := range []string{subject, body} {
		for _, p := range []string{"<no value>", "%!", "{{", "}}", "()", "( )", " ,", " .", " :", " ;", ",,", "..", ": .",
			"Dear ,", "Dear and", "and ,", "\n\n\n"} {
			if strings.Contains(text, p) {
				fail("%q in %q", p, text)
			}
		}
	}
	for _, l := range strings.Split(body, "\n") {
		if l != strings.TrimRight(l, " \t") {
			fail("line %q ends with spaces", l)
		}
		if strings.HasSuffix(l, ":") && !strings.HasSuffix(body, l) {
			// A heading must be followed by its items, not by nothing.
			if i := strings.Index(body, l+"\n"); i < 0 {
				fail("heading %q ends the body", l)
			}
		}
	}
	if strings.HasSuffix(strings.TrimSpace(body), ":") {
		fail("body ends with a heading")
	}
	return bad
}

func TestDraftsHaveNoGaps(t *testing.T) {
	t.Parallel()
	for _, set := range []struct {
		name string
		msgs []message
	}{{"full input", full()}, {"empty input", empty()}} {
		for _, m := range set.msgs {
			t.Run(set.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				subject, body := m.draft()
				if bad := gaps(subject, body); len(bad) > 0 {
					t.Errorf("%s\nsubject: %s\n%s", strings.Join(bad, "\n"), subject, body)
				}
			})
		}
	}
}

// Random inputs: odd names (blank, multi-line, long, accented), long
// lists, unknown enum values. Every text stays whole and within limits.
func TestDraftsWithRandomInputs(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 0xd4af7))
		for _, m := range randomMessages(r) {
			subject, body := m.draft()
			if bad := gaps(subject, body); len(bad) > 0 {
				t.Fatalf("seed %d, %s: %s\nsubject: %s\n%s", seed, m.name, strings.Join(bad, "\n"), subject, body)
			}
		}
	}
}

func randomMessages(r *rand.Rand) []message {
	words := []string{"", " ", "Ana", "Zoë Ørsted", "O'Neil", "Ana\nLopez", "  spaced   out  ", "x",
		strings.Repeat("Bartholomew ", 30), "5B", "mathematics", "a.", "Line one\n\nLine two"}
	str := func() string { return words[r.IntN(len(words))] }
	strs := func(max int) []string {
		out := make([]string, r.IntN(max+1))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	subs := func() []domain.Subject {
		var out []domain.Subject
		for _, s := range strs(4) {
			out = append(out, domain.Subject(s))
		}
		return out
	}
	day := func() domain.Date {
		if r.IntN(4) == 0 {
			return domain.Date{}
		}
		return date("2026-01-01").AddDays(r.IntN(400))
	}
	weekday := func() domain.Weekday {
		return []domain.Weekday{domain.Monday, domain.Tuesday, domain.Friday, domain.Sunday, "", "funday"}[r.IntN(6)]
	}
	periods := drafting.Periods{}
	if r.IntN(2) == 0 {
		periods = drafting.Periods{DayStart: time.Duration(r.IntN(12)) * time.Hour, PeriodLength: time.Duration(r.IntN(90)) * time.Minute, Timezone: str()}
	}
	var lessons []drafting.Lesson
	for range r.IntN(90) {
		lessons = append(lessons, drafting.Lesson{Day: weekday(), Period: r.IntN(12), ClassName: str(), Subject: domain.Subject(str())})
	}
	var factors []drafting.RiskFactor
	for range r.IntN(5) {
		factors = append(factors, drafting.RiskFactor{Name: str(), Value: r.NormFloat64() * 10, Weight: r.Float64(), Reason: str()})
	}
	var missing []drafting.MissingResult
	for range r.IntN(200) {
		missing = append(missing, drafting.MissingResult{StudentName: str(), ClassName: str(), Subjects: subs()})
	}
	var grades []drafting.SubjectGrade
	for range r.IntN(12) {
		grades = append(grades, drafting.SubjectGrade{Subject: domain.Subject(str()), Grade: domain.Grade(r.Float64() * 100)})
	}
	level := []domain.RiskLevel{domain.RiskLow, domain.RiskMedium, domain.RiskHigh, "", "odd"}[r.IntN(5)]
	outcome := []domain.InterventionOutcome{domain.OutcomeResolved, domain.OutcomeEscalated, domain.OutcomeWithdrawn, "", "odd"}[r.IntN(5)]
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(1e6)) * time.Minute)
	mt := drafting.Maintenance{Title: str(), Description: str(), StartsAt: start, EndsAt: start.Add(time.Duration(r.IntN(1440)-60) * time.Minute),
		ReadOnly: r.IntN(2) == 0, Reason: str()}
	if r.IntN(4) == 0 {
		mt.StartsAt = time.Time{}
	}
	meeting := drafting.Meeting{SchoolName: str(), StudentName: str(), TeacherName: str(), GuardianName: str(), Topic: str(),
		Date: day(), Period: r.IntN(12), Periods: periods, Rescheduled: r.IntN(2) == 0, Note: str(), Reason: str()}
	risk := drafting.RiskAlert{SchoolName: str(), StudentName: str(), ClassName: str(), Level: level, Score: r.Float64(),
		Method: str(), Factors: factors, AssessedOn: day(), InterventionOpened: r.IntN(2) == 0, GuardianName: str(),
		TeacherName: str(), SubjectsBelowPass: subs(), FallingSubjects: subs(), AttendanceRate: r.Float64()*1.2 - 0.1,
		AttendanceDays: r.IntN(40)}
	iv := drafting.Intervention{SchoolName: str(), StudentName: str(), ClassName: str(), TeacherName: str(), GuardianName: str(),
		RiskLevel: level, Reason: str(), Plan: strs(25), FollowUpDue: day()}
	closure := drafting.InterventionClosure{SchoolName: str(), StudentName: str(), ClassName: str(), TeacherName: str(),
		GuardianName: str(), Outcome: outcome, Reason: str(), Note: str()}
	return []message{
		{"Welcome", func() (string, string) {
			return drafting.Welcome(drafting.TeacherWelcome{SchoolName: str(), TeacherName: str(), Subjects: subs(),
				Lessons: lessons, Days: []domain.Weekday{weekday(), weekday()}, Periods: periods, Unfilled: strs(80)})
		}},
		{"TeacherOnboarded", func() (string, string) {
			return drafting.TeacherOnboarded(drafting.TeacherOnboarding{SchoolName: str(), TeacherName: str(), Subjects: subs(),
				TimetableVersion: r.IntN(5), LessonsPlaced: r.IntN(40), LessonsUnfilled: r.IntN(5) - 1, Unfilled: strs(80), Explanation: strs(10)})
		}},
		{"RiskAlertTeacher", func() (string, string) { return drafting.RiskAlertTeacher(risk) }},
		{"RiskAlertGuardians", func() (string, string) { return drafting.RiskAlertGuardians(risk) }},
		{"InterventionOpened", func() (string, string) { return drafting.InterventionOpened(iv) }},
		{"InterventionOpenedGuardians", func() (string, string) { return drafting.InterventionOpenedGuardians(iv) }},
		{"InterventionEscalated", func() (string, string) {
			return drafting.InterventionEscalated(drafting.InterventionEscalation{StudentName: str(), ClassName: str(),
				TeacherName: str(), Reason: str(), OpenedOn: day(), FollowUpDue: day()})
		}},
		{"InterventionClosed", func() (string, string) { return drafting.InterventionClosed(closure) }},
		{"InterventionClosedGuardians", func() (string, string) { return drafting.InterventionClosedGuardians(closure) }},
		{"EnrollmentWelcome", func() (string, string) {
			return drafting.EnrollmentWelcome(drafting.Enrollment{SchoolName: str(), StudentName: str(), GuardianName: str(),
				ClassName: str(), WaitingReason: str(), TeacherName: str()})
		}},
		{"GuardianInvitation", func() (string, string) {
			return drafting.GuardianInvitation(drafting.Invitation{SchoolName: str(), StudentName: str(), GuardianName: str(),
				Email: str(), SignInURL: str()})
		}},
		{"ExamResultsReminder", func() (string, string) {
			return drafting.ExamResultsReminder(drafting.ExamReminder{TeacherName: str(), ExamName: str(), Term: str(),
				DueDate: day(), Missing: missing})
		}},
		{"ReportCardsPublished", func() (string, string) {
			return drafting.ReportCardsPublished(drafting.ReportCard{SchoolName: str(), StudentName: str(), GuardianName: str(),
				ExamName: str(), Term: str(), Grades: grades})
		}},
		{"MeetingScheduled", func() (string, string) { return drafting.MeetingScheduled(meeting) }},
		{"MeetingReminder", func() (string, string) { return drafting.MeetingReminder(meeting) }},
		{"MeetingNoShow", func() (string, string) { return drafting.MeetingNoShow(meeting) }},
		{"MaintenanceAnnouncement", func() (string, string) { return drafting.MaintenanceAnnouncement(mt) }},
		{"MaintenanceCancelled", func() (string, string) { return drafting.MaintenanceCancelled(mt) }},
	}
}

// Guardians read plain facts: no score, weight, factor name, method or
// internal reason.
func TestGuardianTextsCarryNoInternalFigures(t *testing.T) {
	t.Parallel()
	internal := []string{"0.72", "score", "weight", "falling_grades", "rules-v1", "59.5", "risk"}
	for _, m := range []message{
		{"RiskAlertGuardians", func() (string, string) { return drafting.RiskAlertGuardians(risk) }},
		{"InterventionOpenedGuardians", func() (string, string) { return drafting.InterventionOpenedGuardians(intervention) }},
		{"InterventionClosedGuardians", func() (string, string) { return drafting.InterventionClosedGuardians(closure) }},
	} {
		subject, body := m.draft()
		for _, s := range internal {
			if strings.Contains(strings.ToLower(subject+"\n"+body), s) {
				t.Errorf("%s shows %q to guardians:\n%s\n%s", m.name, s, subject, body)
			}
		}
	}
	// The closing note and reason are for staff.
	if _, body := drafting.InterventionClosedGuardians(closure); strings.Contains(body, closure.Note) || strings.Contains(body, closure.Reason) {
		t.Errorf("staff notes reach guardians:\n%s", body)
	}
}

// Same input, same text; the order of lists the workflows gather (lessons,
// missing results, grades) does not change it.
func TestDraftsAreDeterministic(t *testing.T) {
	t.Parallel()
	for _, m := range full() {
		s1, b1 := m.draft()
		s2, b2 := m.draft()
		if s1 != s2 || b1 != b2 {
			t.Errorf("%s differs between two drafts", m.name)
		}
	}
	w := welcome
	w.Lessons = slices.Clone(w.Lessons)
	slices.Reverse(w.Lessons)
	if _, b := drafting.Welcome(w); b != golden[0].body {
		t.Errorf("welcome depends on the order of the lessons:\n%s", b)
	}
	rem := reminder
	rem.Missing = slices.Clone(rem.Missing)
	slices.Reverse(rem.Missing)
	_, want := drafting.ExamResultsReminder(reminder)
	if _, b := drafting.ExamResultsReminder(rem); b != want {
		t.Errorf("reminder depends on the order of the missing results:\n%s", b)
	}
	rc := reportCard
	rc.Grades = slices.Clone(rc.Grades)
	slices.Reverse(rc.Grades)
	_, want = drafting.ReportCardsPublished(reportCard)
	if _, b := drafting.ReportCardsPublished(rc); b != want {
		t.Errorf("report card depends on the order of the grades:\n%s", b)
	}
}

func TestDraftsStayWithinMessageLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Ünïcödé ", 100)
	var missing []drafting.MissingResult
	for i := range 500 {
		missing = append(missing, drafting.MissingResult{StudentName: fmt.Sprintf("%s %d", long, i), ClassName: "5B"})
	}
	subject, body := drafting.ExamResultsReminder(drafting.ExamReminder{TeacherName: long, ExamName: long, Missing: missing})
	if bad := gaps(subject, body); len(bad) > 0 {
		t.Fatalf("%s", strings.Join(bad, "\n"))
	}
	if !strings.HasSuffix(subject, "…") || !strings.HasSuffix(body, "… (message shortened)") {
		t.Errorf("a cut text should say so: subject %q, body ends %q", subject, body[len(body)-40:])
	}
	// Short lists are not cut; long ones are counted.
	missing = missing[:0]
	for i := range 100 {
		missing = append(missing, drafting.MissingResult{StudentName: fmt.Sprintf("Student %d", i), ClassName: "5B"})
	}
	_, body = drafting.ExamResultsReminder(drafting.ExamReminder{Missing: missing})
	if !strings.Contains(body, "- … and 40 more") {
		t.Errorf("a list of 100 should show 60 and count 40 more:\n%s", body[len(body)-300:])
	}
}

func TestWelcomeTimetable(t *testing.T) {
	t.Parallel()
	t.Run("no clock times without a period length", func(t *testing.T) {
		t.Parallel()
		w := welcome
		w.Periods = drafting.Periods{}
		w.Unfilled = nil
		_, body := drafting.Welcome(w)
		table := "Monday     period 1  6A   physics\n" +
			"           period 3  10C  mathematics\n" +
			"Tuesday    period 2  5B   mathematics\n" +
			"Wednesday  no lessons\n"
		if !strings.Contains(body, table) {
			t.Errorf("body lacks the table\n%s\n--- body\n%s", table, body)
		}
	})
	t.Run("days from the lessons when none are given", func(t *testing.T) {
		t.Parallel()
		w := welcome
		w.Days = nil
		_, body := drafting.Welcome(w)
		if strings.Contains(body, "Wednesday") || !strings.Contains(body, "Tuesday") {
			t.Errorf("body:\n%s", body)
		}
	})
	t.Run("no lessons", func(t *testing.T) {
		t.Parallel()
		w := welcome
		w.Lessons = nil
		_, body := drafting.Welcome(w)
		if !strings.Contains(body, "You have no lessons in the timetable yet") || strings.Contains(body, "Monday") {
			t.Errorf("body:\n%s", body)
		}
	})
}

func TestTextsForStaffKeepTheFigures(t *testing.T) {
	t.Parallel()
	_, body := drafting.RiskAlertTeacher(risk)
	for _, s := range []string{"score 0.72", "falling_grades: 12.5, weight 0.4", "rules-v1", "No machine learning"} {
		if !strings.Contains(body, s) {
			t.Errorf("teacher's alert lacks %q:\n%s", s, body)
		}
	}
	_, body = drafting.MaintenanceAnnouncement(maintenance)
	for _, s := range []string{"From: Saturday 7 March 2026, 22:00 UTC", "To:   Sunday 8 March 2026, 02:30 UTC (4 hours 30 minutes)", "read-only"} {
		if !strings.Contains(body, s) {
			t.Errorf("announcement lacks %q:\n%s", s, body)
		}
	}
	// The window is shown in UTC whatever the zone of the times given.
	m := maintenance
	m.StartsAt = m.StartsAt.In(time.FixedZone("UTC+5", 5*3600))
	if _, b := drafting.MaintenanceAnnouncement(m); !strings.Contains(b, "From: Saturday 7 March 2026, 22:00 UTC") {
		t.Errorf("window not in UTC:\n%s", b)
	}
}
