package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestAssignSubjectTeacher(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewAssignSubjectTeacherHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")
	alan := f.teacher("alan@example.org", 4, "mathematics", "physics")
	class := f.class("5A", 5, 25, subject("mathematics", ada), subject("physics", ""))
	other := f.otherSchool()
	theirTeacher := f.teacherIn(other, "grace@example.org", 4, "physics")
	theirClass := f.classIn(other, "6B", 6, 20, subject("physics", ""))

	t.Run("the school admin assigns a teacher", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "Physics", TeacherID: alan})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"class.created.v1", "class.subject_teacher_assigned.v1"}
		if got := f.events(res.Stream); !slices.Equal(got, want) || res.Version != 2 {
			t.Fatalf("events = %v (result %+v), want %v", got, res, want)
		}
	})
	t.Run("the same teacher again raises nothing", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "physics", TeacherID: alan})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v; want version 2", res, err)
		}
	})
	t.Run("replacing a subject's teacher", func(t *testing.T) {
		if _, err := h.Handle(ctx, f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "mathematics", TeacherID: alan}); err != nil {
			t.Fatal(err)
		}
		if got := f.events("class-" + class); len(got) != 3 {
			t.Fatalf("events = %v", got)
		}
	})

	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.AssignSubjectTeacher
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a teacher may not", f.teacherMeta(ada), commands.AssignSubjectTeacher{ClassID: class, Subject: "mathematics", TeacherID: ada},
			domain.KindForbidden, "-", nil},
		{"a subject the class is not taught", f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "history", TeacherID: ada},
			domain.KindInvalid, "subject", domain.ErrSubjectNotInClass},
		{"a teacher of another subject", f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "physics", TeacherID: ada},
			domain.KindInvalid, "teacherId", domain.ErrSubjectNotTaught},
		{"another school's teacher is unknown", f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "physics", TeacherID: theirTeacher},
			domain.KindInvalid, "teacherId", domain.ErrUnknownTeacher},
		{"another school's class is not found", f.admin(), commands.AssignSubjectTeacher{ClassID: theirClass, Subject: "physics", TeacherID: alan},
			domain.KindNotFound, "", domain.ErrClassNotFound},
		{"a missing teacher ID", f.admin(), commands.AssignSubjectTeacher{ClassID: class, Subject: "physics"},
			domain.KindInvalid, "teacherId", nil},
		{"a missing class ID", f.admin(), commands.AssignSubjectTeacher{Subject: "physics", TeacherID: alan},
			domain.KindInvalid, "classId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events("class-" + theirClass); len(got) != 1 {
		t.Fatalf("their class's events = %v, want untouched", got)
	}
}
