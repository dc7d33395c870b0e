package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RecordInterventionFollowUp records that the student of an intervention
// was followed up, and when the next follow-up is due (none when empty).
// School admins and the assigned teacher may.
type RecordInterventionFollowUp struct {
	InterventionID  string
	Note            string
	NextFollowUpDue string // optional, YYYY-MM-DD
}

// RecordInterventionFollowUpHandler handles RecordInterventionFollowUp.
type RecordInterventionFollowUpHandler struct{ repo *Repository }

func NewRecordInterventionFollowUpHandler(repo *Repository) RecordInterventionFollowUpHandler {
	return RecordInterventionFollowUpHandler{repo: repo}
}

func (h RecordInterventionFollowUpHandler) Handle(ctx context.Context, m Meta, cmd RecordInterventionFollowUp) (Result, error) {
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
	next, err := inputDate("nextFollowUpDue", cmd.NextFollowUpDue)
	if err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Intervention { return domain.NewIntervention(cmd.InterventionID) },
		func(iv *domain.Intervention) error {
			return iv.RecordFollowUp(cmd.Note, next, m.Actor.ID, h.repo.Now())
		})
}
