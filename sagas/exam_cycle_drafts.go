package sagas

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// The exam_cycle_complete notifications: reminders and report cards from
// package drafting; the hand-over to the office once the reminders are
// used up is written here.

// ecDueDate is the last day the results were due on, school-local.
func ecDueDate(st examState) domain.Date {
	loc, err := time.LoadLocation(st.Timezone)
	if st.Timezone == "" || err != nil {
		loc = time.UTC
	}
	return w3LocalDate(st.DueAt.Add(-time.Nanosecond), loc)
}

// ecReminderMessage asks a teacher (or the office, for class subjects
// nobody teaches) for the missing results, by class and student.
func ecReminderMessage(st examState, to domain.RecipientInput, teacherName string, missing []missingResults, names map[string]string) Notification {
	type key struct{ class, student string }
	bySubject := map[key][]domain.Subject{}
	var order []key
	for _, m := range missing {
		for _, id := range m.StudentIDs {
			k := key{m.ClassName, id}
			if _, ok := bySubject[k]; !ok {
				order = append(order, k)
			}
			bySubject[k] = append(bySubject[k], domain.Subject(m.Subject))
		}
	}
	r := drafting.ExamReminder{TeacherName: teacherName, ExamName: st.Name, Term: st.Term, DueDate: ecDueDate(st)}
	for _, k := range order {
		r.Missing = append(r.Missing, drafting.MissingResult{StudentName: w3OrText(names[k.student], k.student),
			ClassName: k.class, Subjects: bySubject[k]})
	}
	subject, body := drafting.ExamResultsReminder(r)
	body += fmt.Sprintf("\n\n(Reminder %d of %d.)", st.Reminders, examMaxReminders)
	return Notification{Recipients: []domain.RecipientInput{to}, Subject: subject, Body: body,
		Category: string(domain.CategoryExam), RelatedTo: "exam-" + st.ExamID}
}

// ecExhaustedMessage tells the office the reminders are used up and the
// publication is theirs.
func ecExhaustedMessage(st examState) Notification {
	var b strings.Builder
	fmt.Fprintf(&b, "Dear administrators,\n\n%d reminders about the results of %s (%s) have been sent and %d results are still missing (%s).\n\n",
		st.Reminders, st.Name, st.Term, st.missingCount(), st.progress())
	b.WriteString("No further reminders will be sent. Publish the results in the app when ready: the students with " +
		"results get their report cards and their guardians are told.")
	if st.SchoolName != "" {
		b.WriteString("\n\n" + st.SchoolName)
	}
	return Notification{Recipients: []domain.RecipientInput{officeRecipient},
		Subject: "Exam results still missing after " + fmt.Sprint(st.Reminders) + " reminders: " + st.Name,
		Body:    b.String(), Category: string(domain.CategoryExam), RelatedTo: "exam-" + st.ExamID}
}

// reportCardChild is one child of a guardian with their results.
type reportCardChild struct {
	StudentID string
	Name      string
	Results   []domain.ExamResult
}

// ecReportCardMessage tells a guardian their child's report card of the
// cycle is ready, with the grades: one message per guardian and exam, so
// a guardian of two children of the cycle gets both report cards in it.
func ecReportCardMessage(st examState, guardianID, guardianName string, children []reportCardChild) Notification {
	slices.SortFunc(children, func(a, b reportCardChild) int { return strings.Compare(a.Name, b.Name) })
	var subjects, bodies []string
	for _, c := range children {
		rc := drafting.ReportCard{SchoolName: st.SchoolName, StudentName: c.Name, GuardianName: guardianName,
			ExamName: st.Name, Term: st.Term}
		for _, r := range c.Results {
			rc.Grades = append(rc.Grades, drafting.SubjectGrade{Subject: r.Subject, Grade: r.Grade})
		}
		s, b := drafting.ReportCardsPublished(rc)
		subjects, bodies = append(subjects, s), append(bodies, b)
	}
	subject, related := subjects[0], "student-"+children[0].StudentID
	if len(children) > 1 {
		subject = fmt.Sprintf("%d report cards for %s are ready", len(children), w3OrText(st.Name, "the latest exams"))
		related = "exam-" + st.ExamID
	}
	return Notification{Recipients: []domain.RecipientInput{{Kind: string(domain.RecipientGuardian), ID: guardianID}},
		Subject: subject, Body: strings.Join(bodies, "\n\n———\n\n"), Category: string(domain.CategoryExam), RelatedTo: related}
}
