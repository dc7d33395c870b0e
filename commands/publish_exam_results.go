package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// PublishExamResults releases an exam cycle's results; they are final
// afterwards. Only school admins (and services) may.
type PublishExamResults struct {
	ExamID string
}

// PublishExamResultsHandler handles PublishExamResults.
type PublishExamResultsHandler struct{ repo *Repository }

func NewPublishExamResultsHandler(repo *Repository) PublishExamResultsHandler {
	return PublishExamResultsHandler{repo: repo}
}

func (h PublishExamResultsHandler) Handle(ctx context.Context, m Meta, cmd PublishExamResults) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if _, err := loadExam(ctx, h.repo, m.SchoolID, cmd.ExamID); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.ExamCycle { return domain.NewExamCycle(cmd.ExamID) },
		func(x *domain.ExamCycle) error { return x.Publish(m.Actor.ID, h.repo.Now()) })
}
