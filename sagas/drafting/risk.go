package drafting

import (
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RiskAlert is the input of RiskAlertTeacher and RiskAlertGuardians
// (student_performance). The teacher's text shows the assessment as it
// was made (level, score, factors, method); the guardians' text shows only
// the plain facts below the line.
type RiskAlert struct {
	SchoolName  string
	StudentName string
	ClassName   string
	Level       domain.RiskLevel
	Score       float64
	// Method names the scoring rules (e.g. "rules-v1"); optional.
	Method     string
	Factors    []RiskFactor
	AssessedOn domain.Date // optional
	// InterventionOpened: the assessment opened an intervention.
	InterventionOpened bool

	// For guardians: facts in plain words, no scores.
	GuardianName      string // optional: the greeting falls back to "parent or guardian"
	TeacherName       string // the class teacher, whom guardians may contact
	SubjectsBelowPass []domain.Subject
	FallingSubjects   []domain.Subject
	// AttendanceRate is the share of school days attended (0–1; a value
	// above 1 is read as a percentage) over the last AttendanceDays days;
	// shown only when AttendanceDays > 0 and the rate is not negative
	// (negative: unknown).
	AttendanceRate float64
	AttendanceDays int
}

// RiskFactor is one factor of a risk assessment, as the scoring recorded it.
type RiskFactor struct {
	Name   string
	Value  float64
	Weight float64
	Reason string
}

var riskTeacherTemplate = parse("risk alert teacher", `
{{- define "subject"}}Risk alert: {{.Student}}{{if .Class}} ({{.Class}}){{end}} assessed at {{.Level}} risk{{end}}
{{- define "body"}}{{.Student}}{{if .Class}} in {{.Class}}{{end}} was assessed at {{.Level}} risk (score {{.Score}}){{if .On}} on {{.On}}{{end}}.
{{if .Factors}}
Factors (value, weight, reason):
{{bullets .Factors}}
{{else}}
No factor was recorded with the assessment.
{{end}}
{{- if .Intervention}}
An intervention has been opened for {{.Student}}; you will receive its plan in a separate message.
{{end}}
How this was assessed: a deterministic, rule-based score{{if .Method}} ({{.Method}}){{end}} computed from the student's recorded grades and attendance. No machine learning is involved{{if .Factors}}; each factor above shows what it added and why{{end}}.
{{- end}}`)

// RiskAlertTeacher drafts the risk alert to a student's class teacher.
func RiskAlertTeacher(a RiskAlert) (subject, body string) {
	var factors []string
	for _, f := range a.Factors {
		s := fmt.Sprintf("%s: %s, weight %s", or(f.Name, "factor"), number(f.Value), number(f.Weight))
		if r := line(f.Reason); r != "" {
			s += " — " + r
		}
		factors = append(factors, s)
	}
	view := struct {
		Student, Class, Level, Score, On, Method string
		Factors                                  []string
		Intervention                             bool
	}{
		Student:      or(a.StudentName, "A student"),
		Class:        line(a.ClassName),
		Level:        or(string(a.Level), "an unknown"),
		Score:        number(a.Score),
		On:           longDate(a.AssessedOn),
		Method:       line(a.Method),
		Factors:      cleanList(factors),
		Intervention: a.InterventionOpened,
	}
	return render(riskTeacherTemplate, view)
}

var riskGuardiansTemplate = parse("risk alert guardians", `
{{- define "subject"}}About {{.Possessive}} progress at school{{end}}
{{- define "body"}}Dear {{.Guardian}},

We regularly look at every student's grades and attendance. {{.Finding}}
{{- if .Noticed}}

What we noticed:
{{bullets .Noticed}}
{{- end}}
{{if .Intervention}}
{{.Teacher | capFirst}} will set up a support plan with {{.Student}} and keep you informed of it.
{{end}}
If you would like to talk about it, please contact {{.Teacher}}; you can also request a meeting in the app.

{{.School | capFirst}}
{{- end}}`)

// RiskAlertGuardians drafts the same alert for a student's guardians, in
// plain words: what was noticed and what happens next, no score.
func RiskAlertGuardians(a RiskAlert) (subject, body string) {
	student := or(a.StudentName, "your child")
	var finding string
	switch a.Level {
	case domain.RiskHigh:
		finding = fmt.Sprintf("Our latest review suggests that %s would benefit from some extra support.", student)
	case domain.RiskMedium:
		finding = fmt.Sprintf("Our latest review of %s found a few things worth keeping an eye on.", student)
	case domain.RiskLow:
		finding = fmt.Sprintf("Our latest review of %s found nothing that needs extra support.", student)
	default:
		finding = fmt.Sprintf("We would like to share our latest review of %s with you.", student)
	}
	var noticed []string
	if s := subjectNames(a.SubjectsBelowPass); len(s) > 0 {
		noticed = append(noticed, fmt.Sprintf("grades in %s are below the pass mark", joinAnd(s)))
	}
	if s := subjectNames(a.FallingSubjects); len(s) > 0 {
		noticed = append(noticed, fmt.Sprintf("grades in %s have gone down over the last assessments", joinAnd(s)))
	}
	if a.AttendanceDays > 0 && a.AttendanceRate >= 0 {
		noticed = append(noticed, fmt.Sprintf("attended %s of school days in the last %d days", percent(a.AttendanceRate), a.AttendanceDays))
	}
	view := struct {
		Guardian, Student, Possessive, Finding, Teacher, School string
		Noticed                                                 []string
		Intervention                                            bool
	}{
		Guardian:     or(a.GuardianName, "parent or guardian"),
		Student:      student,
		Possessive:   possessive(or(a.StudentName, "your child")),
		Finding:      finding,
		Teacher:      teacherOr(a.TeacherName, a.ClassName),
		School:       or(a.SchoolName, "your school"),
		Noticed:      noticed,
		Intervention: a.InterventionOpened,
	}
	return render(riskGuardiansTemplate, view)
}

// possessive gives "Ana's", "James'" and "your child's".
func possessive(name string) string {
	if strings.HasSuffix(name, "s") || strings.HasSuffix(name, "S") {
		return name + "'"
	}
	return name + "'s"
}

// teacherOr names the class teacher, or describes them.
func teacherOr(name, class string) string {
	if n := line(name); n != "" {
		return n
	}
	if c := line(class); c != "" {
		return "the class teacher of " + c
	}
	return "the class teacher"
}
