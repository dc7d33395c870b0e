package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CloseIntervention ends an intervention with an outcome (resolved,
// escalated, withdrawn) and an optional note. School admins and the
// assigned teacher may.
type CloseIntervention struct {
	InterventionID string
	Outcome        string
	Note           string
}

// CloseInterventionHandler handles CloseIntervention.
type CloseInterventionHandler struct{ repo *Repository }

func NewCloseInterventionHandler(repo *Repository) CloseInterventionHandler {
	return CloseInterventionHandler{repo: repo}
}

func (h CloseInterventionHandler) Handle(ctx context.Context, m Meta, cmd CloseIntervention) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	iv, err := loadIntervention(ctx, h.repo, m.SchoolID, cmd.InterventionID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForIntervention(m, iv); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Intervention { return domain.NewIntervention(cmd.InterventionID) },
		func(iv *domain.Intervention) error { return iv.Close(cmd.Outcome, cmd.Note, m.Actor.ID, h.repo.Now()) })
}
