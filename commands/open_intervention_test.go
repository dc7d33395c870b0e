package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestOpenIntervention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewOpenInterventionHandler(f.repo)
	ctx := context.Background()
	// intervention is for S1, assigned to S1's teacher T1.
	intervention := func(edit func(*commands.OpenIntervention)) commands.OpenIntervention {
		cmd := commands.OpenIntervention{InterventionID: uuid.NewString(), StudentID: sc.S1,
			Reason: "grades fell three times in a row", Plan: []string{"weekly tutoring", "call the guardian"},
			AssignedTo: sc.T1, FollowUpDue: "2026-11-09", RiskLevel: "high"}
		if edit != nil {
			edit(&cmd)
		}
		return cmd
	}

	t.Run("opened by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the student's teacher": f.teacherAs(sc.T1),
			"an admin":              f.admin(),
		} {
			t.Run(name, func(t *testing.T) {
				cmd := intervention(nil)
				res, err := h.Handle(ctx, m, cmd)
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != cmd.InterventionID || res.Stream != "intervention-"+cmd.InterventionID || res.Version != 1 {
					t.Fatalf("result = %+v", res)
				}
				f.expectEvents(t, res.Stream, domain.InterventionOpenedType)
			})
		}
	})

	t.Run("assigned to any teacher of the school, without a risk level", func(t *testing.T) {
		cmd := intervention(func(c *commands.OpenIntervention) { c.AssignedTo, c.RiskLevel = sc.T3, "" })
		if _, err := h.Handle(ctx, f.admin(), cmd); err != nil {
			t.Fatal(err)
		}
		iv, _, err := commands.Load(ctx, f.repo, domain.NewIntervention(cmd.InterventionID))
		if err != nil || iv.AssignedTo() != sc.T3 || !iv.RiskLevel().IsZero() {
			t.Fatalf("intervention: %v, %s, %q", err, iv.AssignedTo(), iv.RiskLevel())
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a teacher who does not teach the student": f.teacherAs(sc.T2),
			"a guardian":             f.guardianAs(sc.G1),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				cmd := intervention(nil)
				_, err := h.Handle(ctx, m, cmd)
				expectForbidden(t, err)
				f.expectEvents(t, "intervention-"+cmd.InterventionID)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			edit     func(*commands.OpenIntervention)
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"assigned to another school's teacher", func(c *commands.OpenIntervention) { c.AssignedTo = sc.XTeacher }, domain.KindNotFound, "assignedTo", domain.ErrTeacherNotFound},
			{"assigned to an unknown teacher", func(c *commands.OpenIntervention) { c.AssignedTo = uuid.NewString() }, domain.KindNotFound, "assignedTo", domain.ErrTeacherNotFound},
			{"assigned to no one", func(c *commands.OpenIntervention) { c.AssignedTo = "" }, domain.KindInvalid, "assignedTo", nil},
			{"another school's student", func(c *commands.OpenIntervention) { c.StudentID = sc.XStudent }, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"a malformed follow-up date", func(c *commands.OpenIntervention) { c.FollowUpDue = "2026-02-30" }, domain.KindInvalid, "followUpDue", nil},
			{"a past follow-up date", func(c *commands.OpenIntervention) { c.FollowUpDue = "2026-10-01" }, domain.KindInvalid, "followUpDue", nil},
			{"no follow-up date", func(c *commands.OpenIntervention) { c.FollowUpDue = "" }, domain.KindInvalid, "followUpDue", nil},
			{"an unknown risk level", func(c *commands.OpenIntervention) { c.RiskLevel = "extreme" }, domain.KindInvalid, "riskLevel", nil},
			{"no reason", func(c *commands.OpenIntervention) { c.Reason = "" }, domain.KindInvalid, "reason", nil},
			{"an empty plan step", func(c *commands.OpenIntervention) { c.Plan = []string{"tutoring", " "} }, domain.KindInvalid, "plan[1]", nil},
			{"no intervention ID", func(c *commands.OpenIntervention) { c.InterventionID = "" }, domain.KindInvalid, "interventionId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.admin(), intervention(tt.edit))
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
	})

	t.Run("the same intervention twice", func(t *testing.T) {
		cmd := intervention(nil)
		if _, err := h.Handle(ctx, f.admin(), cmd); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.admin(), cmd)
		expectErr(t, err, domain.KindConflict, "", domain.ErrInterventionExists)
	})

	t.Run("assigned to a deactivated teacher", func(t *testing.T) {
		tr, _, err := commands.Load(ctx, f.repo, domain.NewTeacher(sc.T3))
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Deactivate("left", f.now); err != nil {
			t.Fatal(err)
		}
		f.saveAggregate(tr)
		_, err = h.Handle(ctx, f.admin(), intervention(func(c *commands.OpenIntervention) { c.AssignedTo = sc.T3 }))
		expectErr(t, err, domain.KindConflict, "assignedTo", domain.ErrTeacherInactive)
	})
}
