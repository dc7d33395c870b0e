package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AssignSubjectTeacher makes a teacher the teacher of one of a class's
// subjects, replacing the previous one.
type AssignSubjectTeacher struct {
	ClassID   string
	Subject   string
	TeacherID string
}

// AssignSubjectTeacherHandler handles AssignSubjectTeacher.
type AssignSubjectTeacherHandler struct{ repo *Repository }

func NewAssignSubjectTeacherHandler(repo *Repository) AssignSubjectTeacherHandler {
	return AssignSubjectTeacherHandler{repo: repo}
}

func (h AssignSubjectTeacherHandler) Handle(ctx context.Context, m Meta, cmd AssignSubjectTeacher) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("classId", cmd.ClassID); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("teacherId", cmd.TeacherID); err != nil {
		return Result{}, err
	}
	teachers, err := teacherInfos(ctx, h.repo, m.SchoolID, []string{cmd.TeacherID})
	if err != nil {
		return Result{}, err
	}
	// A missing teacher or one of another school stays the zero info, which
	// the domain reports as an unknown teacher.
	teacher := teachers[cmd.TeacherID]
	return Update(ctx, h.repo, m, func() *domain.Class { return domain.NewClass(cmd.ClassID) },
		func(c *domain.Class) error {
			if err := c.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			return c.AssignSubjectTeacher(cmd.Subject, cmd.TeacherID, teacher, h.repo.Now())
		})
}
