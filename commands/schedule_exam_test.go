package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestScheduleExam(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewScheduleExamHandler(f.repo)
	ctx := context.Background()
	exam := func(edit func(*commands.ScheduleExam)) commands.ScheduleExam {
		cmd := commands.ScheduleExam{ExamID: uuid.NewString(), Name: "Autumn finals", Term: "2026-autumn",
			Subjects: []string{"Mathematics", "physics"}, ClassIDs: []string{sc.C1, sc.C2},
			StartDate: "2026-11-09", EndDate: "2026-11-13"}
		if edit != nil {
			edit(&cmd)
		}
		return cmd
	}

	t.Run("an admin schedules an exam cycle", func(t *testing.T) {
		cmd := exam(nil)
		res, err := h.Handle(ctx, f.admin(), cmd)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != cmd.ExamID || res.Stream != "exam-"+cmd.ExamID || res.Version != 1 || res.Position == 0 {
			t.Fatalf("result = %+v", res)
		}
		f.expectEvents(t, res.Stream, domain.ExamScheduledType)

		_, err = h.Handle(ctx, f.admin(), cmd)
		expectErr(t, err, domain.KindConflict, "", domain.ErrExamExists)
		f.expectEvents(t, res.Stream, domain.ExamScheduledType)
	})

	t.Run("only admins", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"teacher":                f.teacherAs(sc.T1),
			"guardian":               f.guardianAs(sc.G1),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				cmd := exam(nil)
				_, err := h.Handle(ctx, m, cmd)
				expectForbidden(t, err)
				f.expectEvents(t, "exam-"+cmd.ExamID)
			})
		}
	})

	t.Run("every class must be the school's", func(t *testing.T) {
		for _, classID := range []string{sc.XClass, uuid.NewString()} {
			cmd := exam(func(c *commands.ScheduleExam) { c.ClassIDs = []string{sc.C1, classID} })
			_, err := h.Handle(ctx, f.admin(), cmd)
			expectErr(t, err, domain.KindNotFound, "classIds[1]", domain.ErrClassNotFound)
			f.expectEvents(t, "exam-"+cmd.ExamID)
		}
	})

	for _, tt := range []struct {
		name  string
		edit  func(*commands.ScheduleExam)
		field string
	}{
		{"malformed start date", func(c *commands.ScheduleExam) { c.StartDate = "2026-11-31" }, "startDate"},
		{"no start date", func(c *commands.ScheduleExam) { c.StartDate = " " }, "startDate"},
		{"malformed end date", func(c *commands.ScheduleExam) { c.EndDate = "13/11/2026" }, "endDate"},
		{"end before start", func(c *commands.ScheduleExam) { c.EndDate = "2026-11-08" }, "endDate"},
		{"no name", func(c *commands.ScheduleExam) { c.Name = "" }, "name"},
		{"no subjects", func(c *commands.ScheduleExam) { c.Subjects = nil }, "subjects"},
		{"no classes", func(c *commands.ScheduleExam) { c.ClassIDs = nil }, "classIds"},
		{"a class twice", func(c *commands.ScheduleExam) { c.ClassIDs = []string{sc.C1, sc.C1} }, "classIds[1]"},
		{"a blank class", func(c *commands.ScheduleExam) { c.ClassIDs = []string{sc.C1, ""} }, "classIds[1]"},
		{"no exam ID", func(c *commands.ScheduleExam) { c.ExamID = "" }, "examId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exam(tt.edit)
			_, err := h.Handle(ctx, f.admin(), cmd)
			expectErr(t, err, domain.KindInvalid, tt.field, nil)
		})
	}
}
