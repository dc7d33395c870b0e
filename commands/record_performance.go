package commands

import (
	"context"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RecordPerformance adds a graded assessment to a student's record
// (stream performance-<studentId>).
type RecordPerformance struct {
	StudentID      string
	AssessmentID   string // minted by the caller (NewID)
	Subject        string
	Grade          float64 // 0..100
	AssessmentType string  // exam, midterm, quiz, assignment, project
	AssessedAt     time.Time
}

// RecordPerformanceHandler handles RecordPerformance.
type RecordPerformanceHandler struct{ repo *Repository }

func NewRecordPerformanceHandler(repo *Repository) RecordPerformanceHandler {
	return RecordPerformanceHandler{repo: repo}
}

func (h RecordPerformanceHandler) Handle(ctx context.Context, m Meta, cmd RecordPerformance) (Result, error) {
	// The role check comes before the student is read, so a guardian learns
	// nothing of which students exist.
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
	return Update(ctx, h.repo, m, func() *domain.Performance { return domain.NewPerformance(cmd.StudentID) },
		func(p *domain.Performance) error {
			return p.Record(domain.AssessmentInput{
				SchoolID:       m.SchoolID,
				AssessmentID:   cmd.AssessmentID,
				Subject:        cmd.Subject,
				Grade:          cmd.Grade,
				AssessmentType: cmd.AssessmentType,
				AssessedAt:     cmd.AssessedAt,
				RecordedBy:     m.Actor.ID,
			}, h.repo.Now())
		})
}
