package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestInviteGuardian(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewInviteGuardianHandler(f.repo)
	ctx := context.Background()

	t.Run("invited by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a workflow":       f.service(),
			"a school admin":   f.admin(),
			"a platform admin": f.platform(),
		} {
			t.Run(name, func(t *testing.T) {
				email := uuid.NewString() + "@family.example.org"
				student := f.student("invitee", 7, email)
				guardian := commands.GuardianID(f.school, email)
				res, err := h.Handle(ctx, m, commands.InviteGuardian{StudentID: student, GuardianID: guardian})
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != guardian || res.Stream != "guardian-"+guardian || res.Version != 1 {
					t.Fatalf("result = %+v", res)
				}
				g, _, err := commands.Load(ctx, f.repo, domain.NewGuardianAccount(guardian))
				if err != nil || !g.Invited() || g.Email().String() != email || g.Name() != "Parent of invitee" || g.StudentID() != student {
					t.Fatalf("account: %v %v %s %s", err, g.Invited(), g.Email(), g.Name())
				}
			})
		}
	})

	t.Run("the same command twice appends once", func(t *testing.T) {
		expectOnce[commands.InviteGuardian](t, f, h, f.service(), commands.InviteGuardian{StudentID: sc.S2, GuardianID: sc.G2},
			domain.GuardianInvitedType)
	})

	t.Run("a guardian of two children is invited once", func(t *testing.T) {
		email := uuid.NewString() + "@family.example.org"
		first, second := f.student("first", 7, email), f.student("second", 7, email)
		guardian := commands.GuardianID(f.school, email)
		if _, err := h.Handle(ctx, f.service(), commands.InviteGuardian{StudentID: first, GuardianID: guardian}); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.service(), commands.InviteGuardian{StudentID: second, GuardianID: guardian})
		expectErr(t, err, domain.KindConflict, "", domain.ErrGuardianAlreadyInvited)
		f.expectEvents(t, "guardian-"+guardian, domain.GuardianInvitedType)
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the student's teacher":       f.teacherAs(sc.T1),
			"the guardian":                f.guardianAs(sc.G1),
			"another school's admin":      f.foreignAdmin(),
			"a service of another school": f.foreignService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, commands.InviteGuardian{StudentID: sc.S1, GuardianID: sc.G1})
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "guardian-"+sc.G1)
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			cmd      commands.InviteGuardian
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"another student's guardian", commands.InviteGuardian{StudentID: sc.S1, GuardianID: sc.G3}, domain.KindNotFound, "guardianId", domain.ErrNotGuardian},
			{"another school's student", commands.InviteGuardian{StudentID: sc.XStudent, GuardianID: sc.XGuardian}, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"an unknown student", commands.InviteGuardian{StudentID: uuid.NewString(), GuardianID: sc.G1}, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"no student", commands.InviteGuardian{GuardianID: sc.G1}, domain.KindInvalid, "studentId", nil},
			{"no guardian", commands.InviteGuardian{StudentID: sc.S1}, domain.KindInvalid, "guardianId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.service(), tt.cmd)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "guardian-"+sc.G3)
	})

	t.Run("not for a withdrawn student", func(t *testing.T) {
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(sc.S4))
		f.setupOK(err)
		f.setupOK(s.Withdraw("moved away", f.now))
		f.saveAggregate(s)
		_, err = h.Handle(ctx, f.service(), commands.InviteGuardian{StudentID: sc.S4, GuardianID: sc.G4})
		if !errors.Is(err, domain.ErrStudentWithdrawn) {
			t.Fatalf("err = %v, want %v", err, domain.ErrStudentWithdrawn)
		}
	})
}
