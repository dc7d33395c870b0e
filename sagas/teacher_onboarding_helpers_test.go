package sagas_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// Helpers of the teacher_onboarding and student_enrollment_complete tests
// (engineer W1): a world running the two workflows, with a school,
// Hillside (Europe/Berlin).

// w1Env is one test's world and school.
type w1Env struct {
	*world
	school string
}

func w1NewEnv(t *testing.T) *w1Env {
	t.Helper()
	w := newWorld(t, sagas.NewTeacherOnboarding, sagas.NewStudentEnrollment)
	return &w1Env{world: w, school: w.registerSchool("Hillside", "Europe/Berlin")}
}

func (env *w1Env) admin() commands.Meta { return adminOf(env.school) }

// teacher creates a teacher and returns their ID.
func (env *w1Env) teacher(name string, maxPerDay int, prefs []string, subjects ...string) string {
	env.t.Helper()
	return env.createTeacher(env.school, commands.CreateTeacher{
		Name: name, Email: emailOf(name, "hillside.example"),
		Subjects: subjects, Preferences: domain.PreferencesInput{PreferredTimeSlots: prefs, MaxClassesPerDay: maxPerDay},
	})
}

// class opens a class (listed by the directory) and returns its ID.
func (env *w1Env) class(name string, grade, capacity int, subjects ...domain.ClassSubjectInput) string {
	env.t.Helper()
	return env.createClass(env.school, commands.CreateClass{Name: name, GradeLevel: grade, Capacity: capacity, Subjects: subjects})
}

// student enrolls a student with guardians (e-mail addresses) and returns
// their ID.
func (env *w1Env) student(name string, grade int, guardians ...string) string {
	env.t.Helper()
	var gs []commands.EnrollStudentGuardian
	for _, g := range guardians {
		gs = append(gs, commands.EnrollStudentGuardian{Name: "Guardian " + g, Email: g, Relationship: "parent"})
	}
	return env.enrollStudent(env.school, commands.EnrollStudent{Name: name, DateOfBirth: "2015-03-04", GradeLevel: grade, Guardians: gs})
}

// place puts a student in a class, as an administrator.
func (env *w1Env) place(studentID, classID string) {
	env.t.Helper()
	env.assignClass(env.school, studentID, classID)
}

func (env *w1Env) loadClass(id string) *domain.Class { return load(env.world, domain.NewClass(id)) }

func (env *w1Env) loadTimetable() *domain.Timetable {
	return load(env.world, domain.NewTimetable(env.school))
}
