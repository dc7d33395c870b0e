package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// DeactivateTeacher takes a teacher off duty: they can no longer be given
// classes or lessons. Reason is optional.
type DeactivateTeacher struct {
	TeacherID string
	Reason    string
}

// DeactivateTeacherHandler handles DeactivateTeacher.
type DeactivateTeacherHandler struct{ repo *Repository }

func NewDeactivateTeacherHandler(repo *Repository) DeactivateTeacherHandler {
	return DeactivateTeacherHandler{repo: repo}
}

func (h DeactivateTeacherHandler) Handle(ctx context.Context, m Meta, cmd DeactivateTeacher) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("teacherId", cmd.TeacherID); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Teacher { return domain.NewTeacher(cmd.TeacherID) },
		func(t *domain.Teacher) error {
			if err := t.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			return t.Deactivate(cmd.Reason, h.repo.Now())
		})
}
