package drafting

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// ExamReminder is the input of ExamResultsReminder (exam_cycle_complete).
type ExamReminder struct {
	TeacherName string
	ExamName    string
	Term        string
	DueDate     domain.Date // when the results were due
	Missing     []MissingResult
}

// MissingResult is a student of the roster without a result.
type MissingResult struct {
	StudentName string
	ClassName   string
	Subjects    []domain.Subject // the subjects without a result
}

var examReminderTemplate = parse("exam results reminder", `
{{- define "subject"}}Reminder: {{if .Classes}}{{.Count}} missing{{else}}results due{{end}} for {{.Exam}}{{end}}
{{- define "body"}}Dear {{.Teacher}},

The results of {{.Exam}}{{if .Term}} ({{.Term}}){{end}} were due {{if .Due}}on {{.Due}}{{else}}by now{{end}}
{{- if .Classes}}, and {{.Count}} are still missing:
{{- range .Classes}}

{{.Name}}:
{{bullets .Students}}
{{- end}}

Please record them in the app.
{{- else}}. Please check in the app that they are all recorded.
{{- end}} Grades and report cards are published once every student on the roster has a result.
{{- end}}`)

// ExamResultsReminder drafts the reminder to a teacher of the results
// still missing at the deadline, by class (classes and students in name
// order, whatever the input order).
func ExamResultsReminder(r ExamReminder) (subject, body string) {
	missing := make([]MissingResult, len(r.Missing))
	for i, m := range r.Missing {
		missing[i] = MissingResult{StudentName: line(m.StudentName), ClassName: line(m.ClassName), Subjects: m.Subjects}
	}
	slices.SortStableFunc(missing, func(a, b MissingResult) int {
		return cmp.Or(cmp.Compare(a.ClassName, b.ClassName), cmp.Compare(a.StudentName, b.StudentName))
	})
	type class struct {
		Name     string
		Students []string
	}
	var classes []class
	for _, m := range missing {
		name := or(m.ClassName, "Class not given")
		if len(classes) == 0 || classes[len(classes)-1].Name != name {
			classes = append(classes, class{Name: name})
		}
		s := or(m.StudentName, "a student")
		if subs := subjectNames(m.Subjects); len(subs) > 0 {
			s += " (" + joinAnd(subs) + ")"
		}
		c := &classes[len(classes)-1]
		c.Students = append(c.Students, s)
	}
	for i := range classes {
		classes[i].Students = cleanList(classes[i].Students)
	}
	view := struct {
		Teacher, Exam, Term, Due, Count string
		Classes                         []class
	}{
		Teacher: or(r.TeacherName, "colleague"),
		Exam:    or(r.ExamName, "the exam"),
		Term:    line(r.Term),
		Due:     longDate(r.DueDate),
		Count:   resultCount(len(missing)),
		Classes: classes,
	}
	return render(examReminderTemplate, view)
}

func resultCount(students int) string {
	if students == 1 {
		return "1 student's results"
	}
	return fmt.Sprintf("%d students' results", students)
}

// ReportCard is the input of ReportCardsPublished.
type ReportCard struct {
	SchoolName   string
	StudentName  string
	GuardianName string
	ExamName     string
	Term         string
	// Grades are the student's results; optional (the app has them too).
	Grades []SubjectGrade
}

// SubjectGrade is a student's grade in a subject (0–100).
type SubjectGrade struct {
	Subject domain.Subject
	Grade   domain.Grade
}

var reportCardTemplate = parse("report cards published", `
{{- define "subject"}}{{.Possessive | capFirst}} report card for {{.Exam}} is ready{{end}}
{{- define "body"}}Dear {{.Guardian}},

{{.Possessive | capFirst}} report card for {{.Exam}}{{if .Term}} ({{.Term}}){{end}} has been published.
{{- if .Grades}}

{{.Grades}}

Grades are out of 100; the pass mark is {{.PassMark}}.
{{- end}}

You can read the full report card in the app. If you would like to talk about it, you can request a meeting with a teacher there.

{{.School | capFirst}}
{{- end}}`)

// ReportCardsPublished drafts the message to a student's guardians that
// their report card is published, with the grades when given.
func ReportCardsPublished(r ReportCard) (subject, body string) {
	grades := slices.Clone(r.Grades)
	slices.SortStableFunc(grades, func(a, b SubjectGrade) int { return cmp.Compare(a.Subject, b.Subject) })
	width := 0
	for _, g := range grades {
		width = max(width, len([]rune(or(string(g.Subject), "subject"))))
	}
	var rows []string
	for _, g := range grades {
		name := or(string(g.Subject), "subject")
		row := fmt.Sprintf("%s%s  %5s", capFirst(name), spacesFor(width-len([]rune(name))), number(float64(g.Grade)))
		if g.Grade < domain.PassMark {
			row += "  below the pass mark"
		}
		rows = append(rows, row)
	}
	student := or(r.StudentName, "your child")
	view := struct{ School, Possessive, Guardian, Exam, Term, Grades, PassMark string }{
		School:     or(r.SchoolName, "your school"),
		Possessive: possessive(student),
		Guardian:   or(r.GuardianName, "parent or guardian"),
		Exam:       or(r.ExamName, "the latest exams"),
		Term:       line(r.Term),
		Grades:     strings.Join(capList(rows), "\n"),
		PassMark:   number(float64(domain.PassMark)),
	}
	return render(reportCardTemplate, view)
}

func spacesFor(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%*s", n, "")
}
