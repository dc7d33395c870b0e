package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CreateClass opens a class with the subjects it is taught, each optionally
// with its teacher.
type CreateClass struct {
	ClassID    string // minted by the caller (NewID)
	Name       string
	GradeLevel int
	Capacity   int
	Subjects   []domain.ClassSubjectInput
}

// CreateClassHandler handles CreateClass.
type CreateClassHandler struct{ repo *Repository }

func NewCreateClassHandler(repo *Repository) CreateClassHandler {
	return CreateClassHandler{repo: repo}
}

func (h CreateClassHandler) Handle(ctx context.Context, m Meta, cmd CreateClass) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("classId", cmd.ClassID); err != nil {
		return Result{}, err
	}
	if err := requireSchool(ctx, h.repo, m.SchoolID); err != nil {
		return Result{}, err
	}
	ids := make([]string, len(cmd.Subjects))
	for i, s := range cmd.Subjects {
		ids[i] = s.TeacherID
	}
	teachers, err := teacherInfos(ctx, h.repo, m.SchoolID, ids)
	if err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Class { return domain.NewClass(cmd.ClassID) },
		func(c *domain.Class) error {
			return c.Create(m.SchoolID, cmd.Name, cmd.GradeLevel, cmd.Capacity, cmd.Subjects, teachers, h.repo.Now())
		})
}
