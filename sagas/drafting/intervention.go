package drafting

import (
	"github.com/edusmarthub/edusmarthub/domain"
)

// Intervention is the input of InterventionOpened and
// InterventionOpenedGuardians (ai_intervention_workflow).
type Intervention struct {
	SchoolName   string
	StudentName  string
	ClassName    string
	TeacherName  string // the teacher it is assigned to
	GuardianName string // optional, for the guardians' greeting
	RiskLevel    domain.RiskLevel
	// Reason is why it was opened, for staff (it may quote scores).
	Reason      string
	Plan        []string
	FollowUpDue domain.Date
}

var interventionOpenedTemplate = parse("intervention opened", `
{{- define "subject"}}Intervention for {{.Student}}{{if .Class}} ({{.Class}}){{end}} assigned to you{{end}}
{{- define "body"}}Dear {{.Teacher}},

An intervention has been opened for {{.Student}}{{if .Class}} in {{.Class}}{{end}}{{if .Level}} after an assessment at {{.Level}} risk{{end}}, and you lead it.
{{- if .Reason}}

Why: {{.Reason}}
{{- end}}
{{if .Plan}}
The plan:
{{numbered .Plan}}
{{else}}
No plan steps were recorded; please add them with your first follow-up.
{{end}}
{{if .Due}}Please record a follow-up by {{.Due}}; without one by then, the intervention is escalated to the school administrators.{{else}}Please record a follow-up soon; an intervention without follow-ups is escalated to the school administrators.{{end}} The student's guardians have been told that a support plan is starting.
{{- end}}`)

// InterventionOpened drafts the message to the teacher an intervention is
// assigned to: why, the plan, and when a follow-up is due.
func InterventionOpened(iv Intervention) (subject, body string) {
	return render(interventionOpenedTemplate, interventionView(iv))
}

var interventionGuardiansTemplate = parse("intervention opened guardians", `
{{- define "subject"}}A support plan for {{.Student}}{{end}}
{{- define "body"}}Dear {{.Guardian}},

To help {{.Student}} get back on track at school, {{.Teacher}} will lead a support plan with {{.Student}}.
{{- if .Plan}}

What it includes:
{{bullets .Plan}}
{{- end}}

{{if .Due}}We will look at how it is going by {{.Due}} and keep you informed.{{else}}We will keep you informed of how it is going.{{end}} Please contact {{.Teacher}} with any questions; you can also request a meeting in the app.

{{.School | capFirst}}
{{- end}}`)

// InterventionOpenedGuardians drafts the message to a student's guardians
// that a support plan starts: plain words, the plan, no scores.
func InterventionOpenedGuardians(iv Intervention) (subject, body string) {
	v := interventionView(iv)
	if iv.StudentName == "" {
		v.Student = "your child"
	}
	if iv.TeacherName == "" {
		v.Teacher = teacherOr("", iv.ClassName)
	}
	return render(interventionGuardiansTemplate, v)
}

type interventionFields struct {
	School, Student, Class, Teacher, Guardian, Level, Reason, Due string
	Plan                                                          []string
}

func interventionView(iv Intervention) interventionFields {
	return interventionFields{
		School:   or(iv.SchoolName, "your school"),
		Student:  or(iv.StudentName, "the student"),
		Class:    line(iv.ClassName),
		Teacher:  or(iv.TeacherName, "colleague"),
		Guardian: or(iv.GuardianName, "parent or guardian"),
		Level:    line(string(iv.RiskLevel)),
		Reason:   line(iv.Reason),
		Due:      longDate(iv.FollowUpDue),
		Plan:     cleanList(iv.Plan),
	}
}

// InterventionEscalation is the input of InterventionEscalated.
type InterventionEscalation struct {
	StudentName string
	ClassName   string
	TeacherName string
	// Reason is the escalation's reason as recorded.
	Reason      string
	OpenedOn    domain.Date
	FollowUpDue domain.Date
}

var interventionEscalatedTemplate = parse("intervention escalated", `
{{- define "subject"}}Escalated: intervention for {{.Student}}{{if .Class}} ({{.Class}}){{end}} has no follow-up{{end}}
{{- define "body"}}The intervention for {{.Student}}{{if .Class}} in {{.Class}}{{end}}, {{if .Opened}}opened on {{.Opened}} and {{end}}assigned to {{.Teacher}}, had no follow-up recorded {{if .Due}}by its due date, {{.Due}}{{else}}in time{{end}}. It is now escalated to the school administrators.
{{- if .Reason}}

Reason: {{.Reason}}
{{- end}}

Please check with {{.Teacher}}, then record a follow-up or close the intervention.
{{- end}}`)

// InterventionEscalated drafts the message to the school's administrators
// that an intervention went without a follow-up past its due date.
func InterventionEscalated(e InterventionEscalation) (subject, body string) {
	view := struct{ Student, Class, Teacher, Reason, Opened, Due string }{
		Student: or(e.StudentName, "a student"),
		Class:   line(e.ClassName),
		Teacher: or(e.TeacherName, "its teacher"),
		Reason:  line(e.Reason),
		Opened:  longDate(e.OpenedOn),
		Due:     longDate(e.FollowUpDue),
	}
	return render(interventionEscalatedTemplate, view)
}

// InterventionClosure is the input of InterventionClosed and
// InterventionClosedGuardians.
type InterventionClosure struct {
	SchoolName   string
	StudentName  string
	ClassName    string
	TeacherName  string
	GuardianName string
	Outcome      domain.InterventionOutcome
	// Reason says why it closed ("a later assessment brought the risk
	// down to low", "closed by an administrator"); Note is the closing
	// note. Both are for staff.
	Reason string
	Note   string
}

var interventionClosedTemplate = parse("intervention closed", `
{{- define "subject"}}Intervention closed for {{.Student}}{{if .Class}} ({{.Class}}){{end}}{{if .Outcome}}: {{.Outcome}}{{end}}{{end}}
{{- define "body"}}The intervention for {{.Student}}{{if .Class}} in {{.Class}}{{end}}{{if .Teacher}}, led by {{.Teacher}},{{end}} is closed.{{if .Outcome}} Outcome: {{.Outcome}} ({{.Meaning}}).{{end}}
{{- if .Reason}}

Why: {{.Reason}}
{{- end}}
{{- if .Note}}

Closing note: {{.Note}}
{{- end}}
{{- end}}`)

// InterventionClosed drafts the closing message for staff (the teacher
// who led it, the administrators).
func InterventionClosed(c InterventionClosure) (subject, body string) {
	outcome, meaning := string(c.Outcome), ""
	switch c.Outcome {
	case domain.OutcomeResolved:
		meaning = "the student is back on track"
	case domain.OutcomeEscalated:
		meaning = "handed on to further support"
	case domain.OutcomeWithdrawn:
		meaning = "no longer needed"
	default:
		outcome = "" // none recorded: say nothing rather than guess
	}
	view := struct{ Student, Class, Teacher, Outcome, Meaning, Reason, Note string }{
		Student: or(c.StudentName, "a student"),
		Class:   line(c.ClassName),
		Teacher: line(c.TeacherName),
		Outcome: outcome,
		Meaning: meaning,
		Reason:  line(c.Reason),
		Note:    line(c.Note),
	}
	return render(interventionClosedTemplate, view)
}

var interventionClosedGuardiansTemplate = parse("intervention closed guardians", `
{{- define "subject"}}{{.Possessive | capFirst}} support plan has ended{{end}}
{{- define "body"}}Dear {{.Guardian}},

{{.Possessive | capFirst}} support plan has ended. {{.Outcome}}

Thank you for your support. If you have any questions, please contact {{.Teacher}}.

{{.School | capFirst}}
{{- end}}`)

// InterventionClosedGuardians drafts the closing message for a student's
// guardians: the outcome in plain words, without the staff notes.
func InterventionClosedGuardians(c InterventionClosure) (subject, body string) {
	student := or(c.StudentName, "your child")
	var outcome string
	switch c.Outcome {
	case domain.OutcomeResolved:
		outcome = capFirst(student) + " is back on track."
	case domain.OutcomeEscalated:
		outcome = "The school will continue supporting " + student + " with other staff, who will contact you."
	case domain.OutcomeWithdrawn:
		outcome = "It is no longer needed."
	default:
		outcome = "The school will let you know if anything further is needed."
	}
	view := struct{ Guardian, Possessive, Outcome, Teacher, School string }{
		Guardian:   or(c.GuardianName, "parent or guardian"),
		Possessive: possessive(student),
		Outcome:    outcome,
		Teacher:    teacherOr(c.TeacherName, c.ClassName),
		School:     or(c.SchoolName, "your school"),
	}
	return render(interventionClosedGuardiansTemplate, view)
}
