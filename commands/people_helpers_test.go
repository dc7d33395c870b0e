package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Given-steps for the people and academic command tests: each runs a real
// handler as the school's admin and fails the test if it is refused.

// teacher creates a teacher teaching subjects (at most maxPerDay lessons a
// day) and returns their ID.
func (f *fixture) teacher(email string, maxPerDay int, subjects ...string) string {
	f.t.Helper()
	return f.teacherIn(f.admin(), email, maxPerDay, subjects...)
}

func (f *fixture) teacherIn(m commands.Meta, email string, maxPerDay int, subjects ...string) string {
	f.t.Helper()
	res, err := commands.NewCreateTeacherHandler(f.repo).Handle(context.Background(), m, commands.CreateTeacher{
		Name: "Teacher " + email, Email: email, Subjects: subjects,
		Preferences: domain.PreferencesInput{MaxClassesPerDay: maxPerDay},
	})
	if err != nil {
		f.t.Fatalf("given teacher %s: %v", email, err)
	}
	return res.ID
}

// class opens a class and returns its ID.
func (f *fixture) class(name string, grade, capacity int, subjects ...domain.ClassSubjectInput) string {
	f.t.Helper()
	return f.classIn(f.admin(), name, grade, capacity, subjects...)
}

func (f *fixture) classIn(m commands.Meta, name string, grade, capacity int, subjects ...domain.ClassSubjectInput) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewCreateClassHandler(f.repo).Handle(context.Background(), m, commands.CreateClass{
		ClassID: id, Name: name, GradeLevel: grade, Capacity: capacity, Subjects: subjects,
	})
	if err != nil {
		f.t.Fatalf("given class %s: %v", name, err)
	}
	return id
}

// student enrolls a student of grade with one guardian (guardianEmail) and
// returns their ID.
func (f *fixture) student(name string, grade int, guardianEmail string) string {
	f.t.Helper()
	return f.studentIn(f.admin(), name, grade, guardianEmail)
}

func (f *fixture) studentIn(m commands.Meta, name string, grade int, guardianEmail string) string {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewEnrollStudentHandler(f.repo).Handle(context.Background(), m, commands.EnrollStudent{
		StudentID: id, Name: name, DateOfBirth: "2015-03-04", GradeLevel: grade,
		Guardians: []commands.EnrollStudentGuardian{{Name: "Parent of " + name, Email: guardianEmail, Relationship: "parent"}},
	})
	if err != nil {
		f.t.Fatalf("given student %s: %v", name, err)
	}
	return id
}

// assign puts a student in a class.
func (f *fixture) assign(studentID, classID string) {
	f.t.Helper()
	_, err := commands.NewAssignStudentToClassHandler(f.repo).Handle(context.Background(), f.admin(),
		commands.AssignStudentToClass{StudentID: studentID, ClassID: classID})
	if err != nil {
		f.t.Fatalf("given student %s in class %s: %v", studentID, classID, err)
	}
}

// otherSchool registers a second school in the fixture's store and returns
// metadata for its admin, to check that one school cannot reach another's
// aggregates.
func (f *fixture) otherSchool() commands.Meta {
	f.t.Helper()
	id := uuid.NewString()
	_, err := commands.NewRegisterSchoolHandler(f.repo).Handle(context.Background(),
		commands.Meta{Actor: platformAdmin()}, commands.RegisterSchool{SchoolID: id, Name: "Riverside", Timezone: "Europe/Paris"})
	if err != nil {
		f.t.Fatalf("register other school: %v", err)
	}
	return commands.Meta{SchoolID: id, Actor: commands.Actor{ID: "admin-2", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: id}}
}

// teacherMeta is the metadata of a teacher of the fixture's school acting
// as themself.
func (f *fixture) teacherMeta(teacherID string) commands.Meta {
	return f.as(teacherID, commands.RoleTeacher)
}

// wantErr checks err's kind, its field (when field is not "-") and, when
// sentinel is set, that it is an instance of it.
func wantErr(t *testing.T, err error, kind domain.Kind, field string, sentinel error) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a %s domain error", err, kind)
	}
	if de.Kind != kind {
		t.Fatalf("err = %v (kind %s), want kind %s", err, de.Kind, kind)
	}
	if field != "-" && de.Field != field {
		t.Fatalf("err = %v (field %q), want field %q", err, de.Field, field)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
}

// wantForbidden checks that err is a forbidden error.
func wantForbidden(t *testing.T, err error) {
	t.Helper()
	wantErr(t, err, domain.KindForbidden, "-", nil)
}

// subject is a class subject with its teacher (empty for none yet).
func subject(name, teacherID string) domain.ClassSubjectInput {
	return domain.ClassSubjectInput{Subject: name, TeacherID: teacherID}
}
