package sagas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// Helpers of the student_performance and ai_intervention_workflow tests
// (W2): a world running the two workflows, with a school (Hillside, UTC)
// that has a class, two teachers and a student with two guardians.

type w2Fixture struct {
	*world
	school, mathTeacher, englishTeacher, class, student string
	guardians                                           []string
}

func w2NewFixture(t *testing.T) *w2Fixture {
	t.Helper()
	f := &w2Fixture{world: newWorld(t, sagas.NewStudentPerformance, sagas.NewInterventionWorkflow)}
	f.school = f.registerSchool("Hillside", "UTC")
	f.mathTeacher = f.teacher("maths@hillside.example", "mathematics", "physics")
	f.englishTeacher = f.teacher("english@hillside.example", "english")
	f.class = f.createClass(f.school, commands.CreateClass{Name: "5B", GradeLevel: 5, Capacity: 30, Subjects: []domain.ClassSubjectInput{
		{Subject: "mathematics", TeacherID: f.mathTeacher},
		{Subject: "english", TeacherID: f.englishTeacher},
		{Subject: "physics"},
	}})
	f.student = f.enroll("Ada Lovelace", "mum@example.org", "dad@example.org")
	f.assignClass(f.school, f.student, f.class)
	f.guardians = []string{commands.GuardianID(f.school, "mum@example.org"), commands.GuardianID(f.school, "dad@example.org")}
	f.dir.setAttendance(f.student, sagas.AttendanceSummary{Present: 20})
	return f
}

func (f *w2Fixture) as(id string, role commands.Role) commands.Meta {
	return memberOf(f.school, id, role)
}

func (f *w2Fixture) admin() commands.Meta { return adminOf(f.school) }

func (f *w2Fixture) teacher(email string, subjects ...string) string {
	f.t.Helper()
	return f.createTeacher(f.school, commands.CreateTeacher{
		Name: "Teacher " + email, Email: email, Subjects: subjects, Preferences: domain.PreferencesInput{MaxClassesPerDay: 6},
	})
}

func (f *w2Fixture) enroll(name string, guardianEmails ...string) string {
	f.t.Helper()
	var gs []commands.EnrollStudentGuardian
	for _, e := range guardianEmails {
		gs = append(gs, commands.EnrollStudentGuardian{Name: "Guardian " + e, Email: e, Relationship: "parent"})
	}
	return f.enrollStudent(f.school, commands.EnrollStudent{Name: name, DateOfBirth: "2015-03-04", GradeLevel: 5, Guardians: gs})
}

// record records a grade of student, assessed now, an hour after the
// previous one, and returns the assessment's ID.
func (f *w2Fixture) record(student, subject string, grade float64) string {
	f.t.Helper()
	now := f.clock.Advance(time.Hour)
	id := uuid.NewString()
	f.must(commands.NewRecordPerformanceHandler(f.repo).Handle(f.ctx, f.admin(), commands.RecordPerformance{
		StudentID: student, AssessmentID: id, Subject: subject, Grade: grade, AssessmentType: "quiz", AssessedAt: now}))
	return id
}

// fireAfter advances the clock by d and fires the due deadlines (without
// pumping what they caused).
func (f *w2Fixture) fireAfter(d time.Duration) int {
	f.t.Helper()
	f.clock.Advance(d)
	return f.fireDue()
}

// interventionWorkflows lists the ai_intervention_workflow instances of
// a student, most recent first.
func (f *w2Fixture) interventionWorkflows(student string) []sagas.Workflow {
	f.t.Helper()
	page, err := sagas.ListWorkflows(f.ctx, f.pool, sagas.WorkflowFilter{SchoolID: f.school,
		Type: sagas.InterventionWorkflowSaga, Subject: "student-" + student})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []sagas.Workflow
	for _, s := range page.Items {
		out = append(out, f.workflow(s.Type, s.BusinessID))
	}
	return out
}

// w2To lists a message's recipients as "kind:id".
func w2To(m domain.MessageSent) []string {
	var out []string
	for _, r := range m.Recipients {
		out = append(out, string(r.Kind)+":"+r.ID)
	}
	return out
}

// w2Recipients lists who got each message, in order: "kind:id,kind:id".
func w2Recipients(ms []domain.MessageSent) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join(w2To(m), ","))
	}
	return out
}
