package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// EscalateIntervention hands an open intervention to the school's
// administrators (the admin "office" recipient), with the reason: the
// ai_intervention_workflow does it when a follow-up is overdue. School
// admins and services may; an intervention is escalated once.
type EscalateIntervention struct {
	InterventionID string
	Reason         string
}

// EscalateInterventionHandler handles EscalateIntervention.
type EscalateInterventionHandler struct{ repo *Repository }

func NewEscalateInterventionHandler(repo *Repository) EscalateInterventionHandler {
	return EscalateInterventionHandler{repo: repo}
}

func (h EscalateInterventionHandler) Handle(ctx context.Context, m Meta, cmd EscalateIntervention) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if _, err := loadIntervention(ctx, h.repo, m.SchoolID, cmd.InterventionID); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Intervention { return domain.NewIntervention(cmd.InterventionID) },
		func(iv *domain.Intervention) error { return iv.Escalate(cmd.Reason, m.Actor.ID, h.repo.Now()) })
}
