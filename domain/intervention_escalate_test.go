package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

func ivEscalated(at time.Time) domain.InterventionEscalated {
	return domain.InterventionEscalated{
		InterventionID: ivID, SchoolID: acSchool, StudentID: "student-1",
		Reason:      "no follow-up recorded in 14 days (due 2026-12-12)",
		EscalatedTo: domain.OfficeRecipientID, EscalatedBy: "saga:ai_intervention_workflow", At: at,
	}
}

func TestInterventionEscalate(t *testing.T) {
	t.Parallel()
	escalate := func(reason, by string) func(*domain.Intervention) error {
		return func(iv *domain.Intervention) error { return iv.Escalate(reason, by, acNow) }
	}
	const reason = " no follow-up recorded in 14 days (due 2026-12-12) "

	t.Run("to the school office, staying open", func(t *testing.T) {
		t.Parallel()
		iv := academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
			when(escalate(reason, "saga:ai_intervention_workflow")).
			then(ivEscalated(acNow))
		if !iv.Escalated() || !iv.EscalatedAt().Equal(acNow) || iv.Status() != domain.InterventionStatusOpen || iv.AssignedTo() != "teacher-1" {
			t.Errorf("escalated %v at %s, status %s, assigned to %s", iv.Escalated(), iv.EscalatedAt(), iv.Status(), iv.AssignedTo())
		}
	})

	t.Run("after follow-ups", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivFollowedUp(acToday.AddDays(7))).
			when(escalate(reason, "saga:ai_intervention_workflow")).
			then(ivEscalated(acNow))
	})

	t.Run("once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivEscalated(acNow.Add(-time.Hour))).
			when(escalate(reason, "admin-1")).
			thenErr(domain.ErrInterventionEscalated)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("not a closed one", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivClosed()).
			when(escalate(reason, "admin-1")).
			thenErr(domain.ErrInterventionClosed)
	})

	t.Run("not one never opened", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewIntervention(ivID)).when(escalate(reason, "admin-1")).
			thenErr(domain.ErrInterventionNotFound)
		if err.Kind != domain.KindNotFound {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	for _, tt := range []struct{ name, reason, by, field string }{
		{"no reason", " ", "admin-1", "reason"},
		{"reason too long", strings.Repeat("x", 1001), "admin-1", "reason"},
		{"by no one", "overdue", "", "escalatedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
				when(escalate(tt.reason, tt.by)).thenInvalid(tt.field)
		})
	}
}
