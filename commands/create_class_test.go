package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCreateClass(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewCreateClassHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")
	theirs := f.teacherIn(f.otherSchool(), "grace@example.org", 4, "physics")
	newClass := func(subjects ...domain.ClassSubjectInput) commands.CreateClass {
		return commands.CreateClass{ClassID: uuid.NewString(), Name: "5A", GradeLevel: 5, Capacity: 25, Subjects: subjects}
	}

	cmd := newClass(subject("Mathematics", ada), subject("physics", ""))
	res, err := h.Handle(ctx, f.admin(), cmd)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if res.ID != cmd.ClassID || res.Stream != "class-"+cmd.ClassID || res.Version != 1 {
		t.Fatalf("result = %+v", res)
	}
	if got := f.events(res.Stream); !slices.Equal(got, []string{"class.created.v1"}) {
		t.Fatalf("events = %v", got)
	}

	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.CreateClass
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"the same class again", f.admin(), cmd, domain.KindConflict, "", domain.ErrClassExists},
		{"a teacher may not", f.teacherMeta(ada), newClass(subject("mathematics", ada)), domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as("g-1", commands.RoleGuardian), newClass(subject("mathematics", "")), domain.KindForbidden, "-", nil},
		{"another school's teacher is unknown", f.admin(), newClass(subject("mathematics", ada), subject("physics", theirs)),
			domain.KindInvalid, "subjects[1].teacherId", domain.ErrUnknownTeacher},
		{"a missing teacher is unknown", f.admin(), newClass(subject("mathematics", "no-such-teacher")),
			domain.KindInvalid, "subjects[0].teacherId", domain.ErrUnknownTeacher},
		{"a teacher of another subject", f.admin(), newClass(subject("history", ada)),
			domain.KindInvalid, "subjects[0].teacherId", domain.ErrSubjectNotTaught},
		{"no subjects", f.admin(), newClass(), domain.KindInvalid, "subjects", nil},
		{"a capacity of zero", f.admin(), commands.CreateClass{ClassID: "c-x", Name: "5B", GradeLevel: 5, Subjects: []domain.ClassSubjectInput{subject("art", "")}},
			domain.KindInvalid, "capacity", nil},
		{"a grade level out of range", f.admin(), commands.CreateClass{ClassID: "c-y", Name: "5B", GradeLevel: 14, Capacity: 3, Subjects: []domain.ClassSubjectInput{subject("art", "")}},
			domain.KindInvalid, "gradeLevel", nil},
		{"a missing class ID", f.admin(), commands.CreateClass{Name: "5B", GradeLevel: 5, Capacity: 3, Subjects: []domain.ClassSubjectInput{subject("art", "")}},
			domain.KindInvalid, "classId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
			if tc.cmd.ClassID != "" && tc.cmd.ClassID != cmd.ClassID {
				if got := f.events("class-" + tc.cmd.ClassID); len(got) != 0 {
					t.Fatalf("events = %v, want none", got)
				}
			}
		})
	}
}
