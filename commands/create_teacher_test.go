package commands_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCreateTeacher(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewCreateTeacherHandler(f.repo)
	ctx := context.Background()
	cmd := commands.CreateTeacher{Name: "Ada Lovelace", Email: "Ada@Example.org", Subjects: []string{"Mathematics"},
		Preferences: domain.PreferencesInput{PreferredTimeSlots: []string{"morning"}, MaxClassesPerDay: 4}}

	res, err := h.Handle(ctx, f.admin(), cmd)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if res.ID != commands.TeacherID(f.school, "ada@example.org") || res.Version != 1 || res.Position == 0 {
		t.Fatalf("result = %+v", res)
	}
	if got := f.events(res.Stream); !slices.Equal(got, []string{"teacher.created.v1"}) {
		t.Fatalf("events = %v", got)
	}

	t.Run("same e-mail again is taken", func(t *testing.T) {
		cmd := cmd
		cmd.Email = " ADA@example.org"
		_, err := h.Handle(ctx, f.admin(), cmd)
		if !errors.Is(err, domain.ErrEmailTaken) {
			t.Fatalf("err = %v, want ErrEmailTaken", err)
		}
	})
	t.Run("a teacher may not create teachers", func(t *testing.T) {
		_, err := h.Handle(ctx, f.as("t-1", commands.RoleTeacher), cmd)
		if domain.KindOf(err) != domain.KindForbidden {
			t.Fatalf("err = %v, want forbidden", err)
		}
	})
	t.Run("another school's admin may not", func(t *testing.T) {
		m := f.admin()
		m.Actor.SchoolID = "other-school"
		_, err := h.Handle(ctx, m, cmd)
		if domain.KindOf(err) != domain.KindForbidden {
			t.Fatalf("err = %v, want forbidden", err)
		}
	})
	t.Run("unknown school", func(t *testing.T) {
		m := f.admin()
		m.SchoolID, m.Actor.SchoolID = "no-such-school", "no-such-school"
		_, err := h.Handle(ctx, m, cmd)
		if !errors.Is(err, domain.ErrSchoolNotFound) {
			t.Fatalf("err = %v, want ErrSchoolNotFound", err)
		}
	})
	t.Run("invalid e-mail names the field", func(t *testing.T) {
		cmd := cmd
		cmd.Email = "not-an-address"
		_, err := h.Handle(ctx, f.admin(), cmd)
		var de *domain.Error
		if !errors.As(err, &de) || de.Field != "email" || de.Kind != domain.KindInvalid {
			t.Fatalf("err = %#v, want invalid email", err)
		}
	})
	t.Run("a repeated command ID appends nothing", func(t *testing.T) {
		m := f.admin()
		m.CommandID = "key-1"
		cmd := cmd
		cmd.Email = "grace@example.org"
		first, err := h.Handle(ctx, m, cmd)
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Handle(ctx, m, cmd)
		if err != nil || again != first {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
		}
		if got := f.events(first.Stream); len(got) != 1 {
			t.Fatalf("events = %v", got)
		}
	})
}
