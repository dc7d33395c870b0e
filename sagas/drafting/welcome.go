package drafting

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Lesson is one weekly lesson of a teacher.
type Lesson struct {
	Day       domain.Weekday
	Period    int
	ClassName string
	Subject   domain.Subject
}

// TeacherWelcome is the input of Welcome (teacher_onboarding).
type TeacherWelcome struct {
	SchoolName  string
	TeacherName string
	Subjects    []domain.Subject
	// Lessons are the teacher's lessons in the published timetable (order
	// does not matter).
	Lessons []Lesson
	// Days are the school days, so a day without lessons shows as such;
	// when empty, the days of the lessons are shown.
	Days    []domain.Weekday
	Periods Periods
	// Unfilled are the scheduler's reasons for lessons it could not place
	// (scheduling.Unfilled.Reason).
	Unfilled []string
}

var welcomeTemplate = parse("welcome", `
{{- define "subject"}}Welcome to {{.School}}{{if .Name}}, {{.Name}}{{end}}{{end}}
{{- define "body"}}Dear {{or .Name "colleague"}},

Welcome to {{.School}}. {{if .Subjects}}You teach {{.Subjects}}.{{else}}No subjects are recorded for you yet.{{end}}
{{if .Table}}
Your weekly timetable has {{.Count}}:

{{.Table}}
{{else}}
You have no lessons in the timetable yet; the school office will let you know when you have some.
{{end}}
{{- if .Unfilled}}
Not scheduled yet (the school office will follow up):
{{bullets .Unfilled}}
{{end}}
{{- if .Table}}
The timetable was drafted by the school's scheduler from your subjects, the classes that need them, your preferred time slots and your maximum of lessons a day. Please tell the school office if something should change.
{{end}}
{{.School | capFirst}}
{{- end}}`)

// Welcome drafts the welcome message of a new teacher, with their subjects
// and weekly timetable as a table by day.
func Welcome(w TeacherWelcome) (subject, body string) {
	view := struct {
		School, Name, Subjects, Count, Table string
		Unfilled                             []string
	}{
		School:   or(w.SchoolName, "the school"),
		Name:     line(w.TeacherName),
		Subjects: joinAnd(subjectNames(w.Subjects)),
		Count:    plural(len(w.Lessons), "lesson", "lessons"),
		Table:    timetable(w.Lessons, w.Days, w.Periods),
		Unfilled: cleanList(w.Unfilled),
	}
	return render(welcomeTemplate, view)
}

// timetable lays the lessons out by day, one line a lesson:
//
//	Monday      period 1  08:00–09:00  5B  mathematics
//	            period 3  10:00–11:00  6A  physics
//	Tuesday     no lessons
func timetable(lessons []Lesson, days []domain.Weekday, p Periods) string {
	if len(lessons) == 0 {
		return ""
	}
	ls := slices.Clone(lessons)
	slices.SortFunc(ls, func(a, b Lesson) int {
		return cmp.Or(domain.CompareSlots(domain.Slot{Day: a.Day, Period: a.Period}, domain.Slot{Day: b.Day, Period: b.Period}),
			cmp.Compare(a.ClassName, b.ClassName), cmp.Compare(a.Subject, b.Subject))
	})
	var shown []domain.Weekday
	for _, d := range []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday,
		domain.Friday, domain.Saturday, domain.Sunday} {
		if slices.Contains(days, d) || slices.ContainsFunc(ls, func(l Lesson) bool { return l.Day == d }) {
			shown = append(shown, d)
		}
	}
	// Lessons on a day that is not a weekday (bad input) still show, last.
	for _, l := range ls {
		if !slices.Contains(shown, l.Day) {
			shown = append(shown, l.Day)
		}
	}
	type row struct{ day, period, times, class, subject string }
	var rows []row
	for _, d := range shown {
		name := or(dayName(d), "Unknown day")
		first := true
		for _, l := range ls {
			if l.Day != d {
				continue
			}
			r := row{period: fmt.Sprintf("period %d", l.Period), times: p.times(l.Period),
				class: or(l.ClassName, "class"), subject: or(string(l.Subject), "lesson")}
			if first {
				r.day, first = name, false
			}
			rows = append(rows, r)
		}
		if first {
			rows = append(rows, row{day: name, period: "no lessons"})
		}
	}
	wDay, wPeriod, wTimes, wClass := 0, 0, 0, 0
	for _, r := range rows {
		wDay, wClass = max(wDay, len([]rune(r.day))), max(wClass, len([]rune(r.class)))
		if r.class != "" {
			wPeriod, wTimes = max(wPeriod, len(r.period)), max(wTimes, len([]rune(r.times)))
		}
	}
	var b strings.Builder
	pad := func(s string, w int) string { return s + strings.Repeat(" ", w-len([]rune(s))+2) }
	for _, r := range rows {
		b.WriteString(pad(r.day, wDay))
		if r.class == "" {
			b.WriteString(r.period + "\n")
			continue
		}
		b.WriteString(pad(r.period, wPeriod))
		if wTimes > 0 {
			b.WriteString(pad(r.times, wTimes))
		}
		b.WriteString(pad(r.class, wClass) + r.subject + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// TeacherOnboarding is the input of TeacherOnboarded.
type TeacherOnboarding struct {
	SchoolName       string
	TeacherName      string
	Subjects         []domain.Subject
	TimetableVersion int
	LessonsPlaced    int
	LessonsUnfilled  int
	// Unfilled are the scheduler's reasons (scheduling.Unfilled.Reason);
	// Explanation its account of the plan (scheduling.Result.Explanation).
	Unfilled    []string
	Explanation []string
}

var onboardedTemplate = parse("teacher onboarded", `
{{- define "subject"}}Teacher onboarded: {{.Name}}{{if .UnfilledCount}} ({{.UnfilledText}} unfilled){{end}}{{end}}
{{- define "body"}}{{.Name}} has joined {{.School}}{{if .Subjects}} to teach {{.Subjects}}{{end}}.

New lessons for them{{if .Version}} in timetable version {{.Version}}{{end}}: {{.Placed}}{{if .UnfilledCount}}; lessons that could not be placed: {{.UnfilledCount}}{{end}}. They receive a welcome message with their weekly timetable.
{{- if .Unfilled}}

Not scheduled, and why:
{{bullets .Unfilled}}
{{- end}}
{{- if .Explanation}}

How the scheduler decided:
{{bullets .Explanation}}
{{- end}}
{{- end}}`)

// TeacherOnboarded drafts the note to the school's administrators that a
// teacher was onboarded, with what the scheduler placed and could not.
func TeacherOnboarded(o TeacherOnboarding) (subject, body string) {
	view := struct {
		School, Name, Subjects, UnfilledText string
		Version, Placed, UnfilledCount       int
		Unfilled, Explanation                []string
	}{
		School:        or(o.SchoolName, "the school"),
		Name:          or(o.TeacherName, "A new teacher"),
		Subjects:      joinAnd(subjectNames(o.Subjects)),
		Placed:        max(o.LessonsPlaced, 0),
		Version:       o.TimetableVersion,
		UnfilledCount: max(o.LessonsUnfilled, 0),
		UnfilledText:  plural(max(o.LessonsUnfilled, 0), "lesson", "lessons"),
		Unfilled:      cleanList(o.Unfilled),
		Explanation:   cleanList(o.Explanation),
	}
	return render(onboardedTemplate, view)
}
