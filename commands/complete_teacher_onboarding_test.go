package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCompleteTeacherOnboarding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	f.publishLessons(sc, domain.TimetableEntryInput{ClassID: sc.C1, Subject: "mathematics", TeacherID: sc.T1, Day: "monday", Period: 1},
		domain.TimetableEntryInput{ClassID: sc.C1, Subject: "mathematics", TeacherID: sc.T1, Day: "tuesday", Period: 2})
	h := commands.NewCompleteTeacherOnboardingHandler(f.repo)
	ctx := context.Background()
	onboarding := func(teacherID string) commands.CompleteTeacherOnboarding {
		return commands.CompleteTeacherOnboarding{TeacherID: teacherID, TimetableVersion: 1, LessonsAssigned: 2,
			LessonsUnfilled: 2, WelcomeMessageID: uuid.NewString()}
	}

	t.Run("completed by the workflow, once", func(t *testing.T) {
		res := expectOnce[commands.CompleteTeacherOnboarding](t, f, h, f.service(), onboarding(sc.T1),
			domain.TeacherCreatedType, domain.TeacherOnboardedType)
		if res.ID != sc.T1 || res.Stream != "teacher-"+sc.T1 || res.Version != 2 {
			t.Fatalf("result = %+v", res)
		}
		tr, _, err := commands.Load(ctx, f.repo, domain.NewTeacher(sc.T1))
		if err != nil || !tr.Onboarded() {
			t.Fatalf("teacher: %v, onboarded %v", err, tr.Onboarded())
		}
		_, err = h.Handle(ctx, f.service(), onboarding(sc.T1))
		expectErr(t, err, domain.KindConflict, "", domain.ErrTeacherOnboarded)
	})

	t.Run("with nothing assigned", func(t *testing.T) {
		cmd := commands.CompleteTeacherOnboarding{TeacherID: sc.T2, LessonsUnfilled: 8, WelcomeMessageID: uuid.NewString()}
		if _, err := h.Handle(ctx, f.service(), cmd); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "teacher-"+sc.T2, domain.TeacherCreatedType, domain.TeacherOnboardedType)
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a school admin":              f.admin(),
			"a platform admin":            f.platform(),
			"the teacher":                 f.teacherAs(sc.T3),
			"a service of another school": f.foreignService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, onboarding(sc.T3))
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "teacher-"+sc.T3, domain.TeacherCreatedType)
	})

	t.Run("rejected", func(t *testing.T) {
		edit := func(f func(*commands.CompleteTeacherOnboarding)) commands.CompleteTeacherOnboarding {
			c := onboarding(sc.T3)
			f(&c)
			return c
		}
		for _, tt := range []struct {
			name     string
			cmd      commands.CompleteTeacherOnboarding
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"another school's teacher", onboarding(sc.XTeacher), domain.KindNotFound, "", domain.ErrTeacherNotFound},
			{"an unknown teacher", onboarding(uuid.NewString()), domain.KindNotFound, "", domain.ErrTeacherNotFound},
			{"no teacher", onboarding(""), domain.KindInvalid, "teacherId", nil},
			{"a timetable version the school does not have", edit(func(c *commands.CompleteTeacherOnboarding) { c.TimetableVersion = 2 }),
				domain.KindNotFound, "timetableVersion", nil},
			{"lessons but no version", edit(func(c *commands.CompleteTeacherOnboarding) { c.TimetableVersion = 0 }),
				domain.KindInvalid, "timetableVersion", nil},
			{"negative unfilled lessons", edit(func(c *commands.CompleteTeacherOnboarding) { c.LessonsUnfilled = -1 }),
				domain.KindInvalid, "lessonsUnfilled", nil},
			{"no welcome message", edit(func(c *commands.CompleteTeacherOnboarding) { c.WelcomeMessageID = "" }),
				domain.KindInvalid, "welcomeMessageId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.service(), tt.cmd)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "teacher-"+sc.T3, domain.TeacherCreatedType)
	})

	t.Run("not a deactivated teacher", func(t *testing.T) {
		tr, _, err := commands.Load(ctx, f.repo, domain.NewTeacher(sc.T3))
		f.setupOK(err)
		f.setupOK(tr.Deactivate("left", f.now))
		f.saveAggregate(tr)
		_, err = h.Handle(ctx, f.service(), onboarding(sc.T3))
		expectErr(t, err, domain.KindConflict, "", domain.ErrTeacherInactive)
	})
}
