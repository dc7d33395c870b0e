package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestRecordInterventionFollowUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewRecordInterventionFollowUpHandler(f.repo)
	ctx := context.Background()
	ivID := f.openIntervention(sc)
	foreign := f.foreignIntervention(sc)
	stream := "intervention-" + ivID
	followUp := func(m commands.Meta, id, note, next string) error {
		_, err := h.Handle(ctx, m, commands.RecordInterventionFollowUp{InterventionID: id, Note: note, NextFollowUpDue: next})
		return err
	}
	opened, followedUp := domain.InterventionOpenedType, domain.InterventionFollowUpRecordedType

	t.Run("the assigned teacher records a follow-up with the next one due", func(t *testing.T) {
		if err := followUp(f.teacherAs(sc.T1), ivID, "tutoring started", "2026-11-16"); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, stream, opened, followedUp)
		iv, _, err := commands.Load(ctx, f.repo, domain.NewIntervention(ivID))
		if err != nil || iv.FollowUpDue().String() != "2026-11-16" {
			t.Fatalf("follow-up due %v (%v)", iv.FollowUpDue(), err)
		}
	})

	t.Run("an admin records one with none due after it", func(t *testing.T) {
		if err := followUp(f.admin(), ivID, "back on track", ""); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, stream, opened, followedUp, followedUp)
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"another teacher":        f.teacherAs(sc.T2),
			"a guardian":             f.guardianAs(sc.G1),
			"another school's admin": f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				expectForbidden(t, followUp(m, ivID, "not mine", ""))
				f.expectEvents(t, stream, opened, followedUp, followedUp)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name, id, note, next string
			kind                 domain.Kind
			field                string
			sentinel             error
		}{
			{"a malformed next date", ivID, "ok", "next week", domain.KindInvalid, "nextFollowUpDue", nil},
			{"a past next date", ivID, "ok", "2026-10-01", domain.KindInvalid, "nextFollowUpDue", nil},
			{"no note", ivID, " ", "", domain.KindInvalid, "note", nil},
			{"another school's intervention", foreign, "ok", "", domain.KindNotFound, "", domain.ErrInterventionNotFound},
			{"an unknown intervention", "no-such-intervention", "ok", "", domain.KindNotFound, "", domain.ErrInterventionNotFound},
			{"no intervention", "", "ok", "", domain.KindInvalid, "interventionId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, followUp(f.admin(), tt.id, tt.note, tt.next), tt.kind, tt.field, tt.sentinel)
			})
		}
	})
}
