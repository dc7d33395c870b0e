package commands_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestWithdrawStudent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewWithdrawStudentHandler(f.repo)
	class := f.class("5A", 5, 30, subject("mathematics", ""))
	roster := func() []string {
		t.Helper()
		c, _, err := commands.Load(ctx, f.repo, domain.NewClass(class))
		if err != nil {
			t.Fatal(err)
		}
		return c.Roster()
	}
	tom := f.student("Tom", 5, "polly@example.org")
	huck := f.student("Huck", 5, "finn@example.org")
	f.assign(tom, class)
	f.assign(huck, class)

	t.Run("the student leaves their class", func(t *testing.T) {
		m := f.admin()
		m.CommandID = "withdraw-tom"
		res, err := h.Handle(ctx, m, commands.WithdrawStudent{StudentID: tom, Reason: "moved away"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"student.enrolled.v1", "student.assigned_to_class.v1", "student.withdrawn.v1"}
		if got := f.events(res.Stream); !slices.Equal(got, want) || res.ID != tom {
			t.Fatalf("events = %v (result %+v), want %v", got, res, want)
		}
		if got := roster(); !slices.Equal(got, []string{huck}) {
			t.Fatalf("roster = %v, want [%s]", got, huck)
		}

		again, err := h.Handle(ctx, m, commands.WithdrawStudent{StudentID: tom, Reason: "moved away"})
		if err != nil || again != res {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, res)
		}
		if got := f.events("class-" + class); len(got) != 4 { // created, 2 added, 1 removed
			t.Fatalf("class events = %v", got)
		}
	})
	t.Run("twice is a conflict", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.WithdrawStudent{StudentID: tom})
		wantErr(t, err, domain.KindConflict, "", domain.ErrStudentWithdrawn)
	})
	t.Run("a student without a class", func(t *testing.T) {
		becky := f.student("Becky", 5, "thatcher@example.org")
		res, err := h.Handle(ctx, f.admin(), commands.WithdrawStudent{StudentID: becky})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v", res, err)
		}
	})
	t.Run("a withdrawal that stopped half-way completes when repeated", func(t *testing.T) {
		// Given Huck withdrawn but still on the roster, as if the command
		// had failed after its first write.
		_, err := commands.Update(ctx, f.repo, f.admin(), func() *domain.Student { return domain.NewStudent(huck) },
			func(s *domain.Student) error { return s.Withdraw("", f.now) })
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Handle(ctx, f.admin(), commands.WithdrawStudent{StudentID: huck})
		wantErr(t, err, domain.KindConflict, "", domain.ErrStudentWithdrawn)
		if got := roster(); len(got) != 0 {
			t.Fatalf("roster = %v, want empty", got)
		}
	})

	amy := f.student("Amy", 5, "lawrence@example.org")
	theirs := f.studentIn(f.otherSchool(), "Jim", 5, "jim@example.org")
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.WithdrawStudent
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a teacher may not", f.as("t-1", commands.RoleTeacher), commands.WithdrawStudent{StudentID: amy}, domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as(commands.GuardianID(f.school, "lawrence@example.org"), commands.RoleGuardian),
			commands.WithdrawStudent{StudentID: amy}, domain.KindForbidden, "-", nil},
		{"another school's student is not found", f.admin(), commands.WithdrawStudent{StudentID: theirs},
			domain.KindNotFound, "", domain.ErrStudentNotFound},
		{"an unknown student is not found", f.admin(), commands.WithdrawStudent{StudentID: "no-such-student"},
			domain.KindNotFound, "", domain.ErrStudentNotFound},
		{"a reason too long", f.admin(), commands.WithdrawStudent{StudentID: amy, Reason: strings.Repeat("x", 501)},
			domain.KindInvalid, "reason", nil},
		{"a missing student ID", f.admin(), commands.WithdrawStudent{}, domain.KindInvalid, "studentId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events("student-" + theirs); len(got) != 1 {
		t.Fatalf("their student's events = %v, want untouched", got)
	}
}
