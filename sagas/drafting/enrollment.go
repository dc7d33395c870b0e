package drafting

// Enrollment is the input of EnrollmentWelcome (student_enrollment_complete).
type Enrollment struct {
	SchoolName   string
	StudentName  string
	GuardianName string
	// ClassName is the class the student was placed in; empty while the
	// student waits for a place, with WaitingReason saying why ("every
	// grade-5 class is full").
	ClassName     string
	WaitingReason string
	TeacherName   string // the class teacher, optional
}

var enrollmentTemplate = parse("enrollment welcome", `
{{- define "subject"}}Welcome to {{.School}}{{if .Named}}, {{.Student}}{{end}}{{end}}
{{- define "body"}}Dear {{.Guardian}},

{{.Student | capFirst}} is now enrolled at {{.School}}.
{{if .Class}}
{{.Student | capFirst}} has been placed in class {{.Class}}{{if .Teacher}}, whose class teacher is {{.Teacher}}{{end}}. The class timetable, attendance and grades are in the app from today.
{{else}}
{{.Student | capFirst}} is not in a class yet: {{.Waiting}}. We will place {{.Student}} as soon as a place is free and let you know.
{{end}}
You will receive a separate invitation to your guardian account, where you can follow timetables, attendance and grades, read messages from school and request meetings with teachers.

We look forward to working with you.

{{.School | capFirst}}
{{- end}}`)

// EnrollmentWelcome drafts the welcome to a new student's guardians, with
// the class the student was placed in or why they are waiting.
func EnrollmentWelcome(e Enrollment) (subject, body string) {
	view := struct {
		School, Student, Guardian, Class, Teacher, Waiting string
		Named                                              bool
	}{
		School:   or(e.SchoolName, "your school"),
		Student:  or(e.StudentName, "your child"),
		Named:    line(e.StudentName) != "",
		Guardian: or(e.GuardianName, "parent or guardian"),
		Class:    line(e.ClassName),
		Teacher:  line(e.TeacherName),
		Waiting:  or(clause(e.WaitingReason), "no class of the right grade has a free place yet"),
	}
	return render(enrollmentTemplate, view)
}

// Invitation is the input of GuardianInvitation.
type Invitation struct {
	SchoolName   string
	StudentName  string
	GuardianName string
	Email        string // the address to sign in with
	SignInURL    string // optional
}

var invitationTemplate = parse("guardian invitation", `
{{- define "subject"}}Your guardian account at {{.School}}{{end}}
{{- define "body"}}Dear {{.Guardian}},

{{.School | capFirst}} has invited you to EduSmartHub as a guardian of {{.Student}}. With your account you can follow {{.Possessive}} timetable, attendance and grades, read messages from school and request meetings with teachers.

To start, sign in{{if .URL}} at {{.URL}}{{end}} with {{if .Email}}your e-mail address {{.Email}}{{else}}the e-mail address the school has for you{{end}}.

If you did not expect this invitation, please tell the school office.

{{.School | capFirst}}
{{- end}}`)

// GuardianInvitation drafts the invitation of a guardian to their account.
func GuardianInvitation(i Invitation) (subject, body string) {
	student := or(i.StudentName, "your child")
	view := struct{ School, Student, Possessive, Guardian, Email, URL string }{
		School:     or(i.SchoolName, "your school"),
		Student:    student,
		Possessive: possessive(student),
		Guardian:   or(i.GuardianName, "parent or guardian"),
		Email:      line(i.Email),
		URL:        line(i.SignInURL),
	}
	return render(invitationTemplate, view)
}
