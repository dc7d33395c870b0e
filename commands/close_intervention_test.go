package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCloseIntervention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewCloseInterventionHandler(f.repo)
	ctx := context.Background()
	ivID := f.openIntervention(sc)
	other := f.openIntervention(sc)
	foreign := f.foreignIntervention(sc)
	stream := "intervention-" + ivID
	closeIt := func(m commands.Meta, id, outcome, note string) error {
		_, err := h.Handle(ctx, m, commands.CloseIntervention{InterventionID: id, Outcome: outcome, Note: note})
		return err
	}
	opened, closed := domain.InterventionOpenedType, domain.InterventionClosedType

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"another teacher":        f.teacherAs(sc.T2),
			"a guardian":             f.guardianAs(sc.G1),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				expectForbidden(t, closeIt(m, ivID, "resolved", ""))
				f.expectEvents(t, stream, opened)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name, id, outcome string
			kind              domain.Kind
			field             string
			sentinel          error
		}{
			{"an unknown outcome", ivID, "fixed", domain.KindInvalid, "outcome", nil},
			{"no outcome", ivID, "", domain.KindInvalid, "outcome", nil},
			{"another school's intervention", foreign, "resolved", domain.KindNotFound, "", domain.ErrInterventionNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, closeIt(f.admin(), tt.id, tt.outcome, ""), tt.kind, tt.field, tt.sentinel)
				f.expectEvents(t, stream, opened)
			})
		}
	})

	t.Run("the assigned teacher closes it; then it is closed", func(t *testing.T) {
		if err := closeIt(f.teacherAs(sc.T1), ivID, "Resolved", "back on track"); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, stream, opened, closed)
		iv, _, err := commands.Load(ctx, f.repo, domain.NewIntervention(ivID))
		if err != nil || iv.Outcome() != domain.OutcomeResolved || iv.Status() != domain.InterventionStatusClosed {
			t.Fatalf("intervention %s %s (%v)", iv.Status(), iv.Outcome(), err)
		}

		expectErr(t, closeIt(f.admin(), ivID, "withdrawn", ""), domain.KindConflict, "", domain.ErrInterventionClosed)
		_, err = commands.NewRecordInterventionFollowUpHandler(f.repo).Handle(ctx, f.teacherAs(sc.T1),
			commands.RecordInterventionFollowUp{InterventionID: ivID, Note: "late note"})
		expectErr(t, err, domain.KindConflict, "", domain.ErrInterventionClosed)
		f.expectEvents(t, stream, opened, closed)
	})

	t.Run("an admin closes one", func(t *testing.T) {
		if err := closeIt(f.admin(), other, "escalated", ""); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "intervention-"+other, opened, closed)
	})
}
