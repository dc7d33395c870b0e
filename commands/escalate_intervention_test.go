package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestEscalateIntervention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewEscalateInterventionHandler(f.repo)
	ctx := context.Background()
	escalation := func(id string) commands.EscalateIntervention {
		return commands.EscalateIntervention{InterventionID: id, Reason: "no follow-up recorded by 2026-11-09"}
	}

	t.Run("escalated by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a workflow":       f.service(),
			"a school admin":   f.admin(),
			"a platform admin": f.platform(),
		} {
			t.Run(name, func(t *testing.T) {
				id := f.openIntervention(sc)
				res, err := h.Handle(ctx, m, escalation(id))
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != id || res.Stream != "intervention-"+id || res.Version != 2 {
					t.Fatalf("result = %+v", res)
				}
				f.expectEvents(t, res.Stream, domain.InterventionOpenedType, domain.InterventionEscalatedType)
				iv, _, err := commands.Load(ctx, f.repo, domain.NewIntervention(id))
				if err != nil || !iv.Escalated() || iv.Status() != domain.InterventionStatusOpen {
					t.Fatalf("intervention: %v, escalated %v, %s", err, iv.Escalated(), iv.Status())
				}
			})
		}
	})

	t.Run("the same command twice appends once", func(t *testing.T) {
		id := f.openIntervention(sc)
		expectOnce[commands.EscalateIntervention](t, f, h, f.service(), escalation(id),
			domain.InterventionOpenedType, domain.InterventionEscalatedType)
	})

	t.Run("forbidden", func(t *testing.T) {
		id := f.openIntervention(sc)
		for name, m := range map[string]commands.Meta{
			"the assigned teacher":        f.teacherAs(sc.T1),
			"a guardian":                  f.guardianAs(sc.G1),
			"another school's admin":      f.foreignAdmin(),
			"a service of another school": f.foreignService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, escalation(id))
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "intervention-"+id, domain.InterventionOpenedType)
	})

	t.Run("rejected", func(t *testing.T) {
		open, closed, escalated := f.openIntervention(sc), f.openIntervention(sc), f.openIntervention(sc)
		f.setupOK(func() error {
			_, err := commands.NewCloseInterventionHandler(f.repo).Handle(ctx, f.admin(),
				commands.CloseIntervention{InterventionID: closed, Outcome: "resolved"})
			return err
		}())
		f.setupOK(func() error { _, err := h.Handle(ctx, f.admin(), escalation(escalated)); return err }())
		for _, tt := range []struct {
			name     string
			cmd      commands.EscalateIntervention
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"another school's intervention", escalation(f.foreignIntervention(sc)), domain.KindNotFound, "", domain.ErrInterventionNotFound},
			{"an unknown intervention", escalation(uuid.NewString()), domain.KindNotFound, "", domain.ErrInterventionNotFound},
			{"no intervention", escalation(""), domain.KindInvalid, "interventionId", nil},
			{"a closed intervention", escalation(closed), domain.KindConflict, "", domain.ErrInterventionClosed},
			{"an escalated intervention, again", escalation(escalated), domain.KindConflict, "", domain.ErrInterventionEscalated},
			{"no reason", commands.EscalateIntervention{InterventionID: open}, domain.KindInvalid, "reason", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.service(), tt.cmd)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "intervention-"+open, domain.InterventionOpenedType)
	})
}
