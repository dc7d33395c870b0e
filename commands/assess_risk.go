package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AssessRisk records a risk assessment of an enrolled student: the level,
// score and factors a deterministic analysis produced, with what it read
// (Basis) and which algorithm it was (Method). The analysis is a
// workflow's (student_performance), so only services and platform admins
// may; school staff read the result, they do not make it up.
type AssessRisk struct {
	StudentID string
	Level     string  // low|medium|high
	Score     float64 // 0..1
	Factors   []domain.RiskFactorInput
	Basis     domain.RiskBasis
	Method    string
}

// AssessRiskHandler handles AssessRisk.
type AssessRiskHandler struct{ repo *Repository }

func NewAssessRiskHandler(repo *Repository) AssessRiskHandler {
	return AssessRiskHandler{repo: repo}
}

func (h AssessRiskHandler) Handle(ctx context.Context, m Meta, cmd AssessRisk) (Result, error) {
	if err := allow(m); err != nil { // no school role: services and platform admins only
		return Result{}, err
	}
	s, err := loadStudent(ctx, h.repo, m.SchoolID, cmd.StudentID)
	if err != nil {
		return Result{}, err
	}
	if err := requireActiveStudent(s); err != nil {
		return Result{}, err
	}
	in := domain.RiskAssessmentInput{SchoolID: m.SchoolID, Level: cmd.Level, Score: cmd.Score, Factors: cmd.Factors,
		Basis: cmd.Basis, Method: cmd.Method}
	return Update(ctx, h.repo, m, func() *domain.RiskProfile { return domain.NewRiskProfile(s.ID()) },
		func(r *domain.RiskProfile) error { return r.Assess(in, h.repo.Now()) })
}
