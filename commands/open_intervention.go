package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// OpenIntervention starts a support plan for a student at risk, assigned
// to a teacher of the school. School admins and a teacher of the student's
// class may.
type OpenIntervention struct {
	InterventionID string // minted by the caller (NewID)
	StudentID      string
	Reason         string
	Plan           []string
	AssignedTo     string // teacher ID
	FollowUpDue    string // YYYY-MM-DD
	RiskLevel      string // optional: low|medium|high
}

// OpenInterventionHandler handles OpenIntervention.
type OpenInterventionHandler struct{ repo *Repository }

func NewOpenInterventionHandler(repo *Repository) OpenInterventionHandler {
	return OpenInterventionHandler{repo: repo}
}

func (h OpenInterventionHandler) Handle(ctx context.Context, m Meta, cmd OpenIntervention) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	s, err := loadStudent(ctx, h.repo, m.SchoolID, cmd.StudentID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForStudent(ctx, h.repo, m, s, RoleTeacher); err != nil {
		return Result{}, err
	}
	if err := requireActiveStudent(s); err != nil {
		return Result{}, err
	}
	due, err := inputDate("followUpDue", cmd.FollowUpDue)
	if err != nil {
		return Result{}, err
	}
	if _, err := activeTeacherOfSchool(ctx, h.repo, m.SchoolID, cmd.AssignedTo, "assignedTo"); err != nil {
		return Result{}, err
	}
	in := domain.InterventionInput{
		SchoolID: m.SchoolID, StudentID: s.ID(), Reason: cmd.Reason, Plan: cmd.Plan, AssignedTo: cmd.AssignedTo,
		FollowUpDue: due, RiskLevel: cmd.RiskLevel, OpenedBy: m.Actor.ID,
	}
	return Create(ctx, h.repo, m, func() *domain.Intervention { return domain.NewIntervention(cmd.InterventionID) },
		func(iv *domain.Intervention) error { return iv.Open(in, h.repo.Now()) })
}
