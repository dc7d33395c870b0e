package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AnalyzeExamResults computes the statistics of an exam cycle's published
// results (per subject and per class, see domain.ExamCycle.AnalyzeResults)
// and records them, once: the analytics event of the exam_cycle_complete
// workflow. School admins and services may. Classes are counted by their
// current rosters.
type AnalyzeExamResults struct {
	ExamID string
}

// AnalyzeExamResultsHandler handles AnalyzeExamResults.
type AnalyzeExamResultsHandler struct{ repo *Repository }

func NewAnalyzeExamResultsHandler(repo *Repository) AnalyzeExamResultsHandler {
	return AnalyzeExamResultsHandler{repo: repo}
}

func (h AnalyzeExamResultsHandler) Handle(ctx context.Context, m Meta, cmd AnalyzeExamResults) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	x, err := loadExam(ctx, h.repo, m.SchoolID, cmd.ExamID)
	if err != nil {
		return Result{}, err
	}
	rosters := make(map[string][]string, len(x.ClassIDs()))
	for _, id := range x.ClassIDs() {
		c, _, err := Load(ctx, h.repo, domain.NewClass(id))
		if err != nil {
			return Result{}, err
		}
		if c.RequireInSchool(m.SchoolID) == nil {
			rosters[id] = c.Roster()
		}
	}
	return Update(ctx, h.repo, m, func() *domain.ExamCycle { return domain.NewExamCycle(cmd.ExamID) },
		func(x *domain.ExamCycle) error { return x.AnalyzeResults(rosters, m.Actor.ID, h.repo.Now()) })
}
