package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// UpdateTeacherPreferences replaces a teacher's scheduling preferences. A
// school admin may, and so may the teacher themself.
type UpdateTeacherPreferences struct {
	TeacherID   string
	Preferences domain.PreferencesInput
}

// UpdateTeacherPreferencesHandler handles UpdateTeacherPreferences.
type UpdateTeacherPreferencesHandler struct{ repo *Repository }

func NewUpdateTeacherPreferencesHandler(repo *Repository) UpdateTeacherPreferencesHandler {
	return UpdateTeacherPreferencesHandler{repo: repo}
}

func (h UpdateTeacherPreferencesHandler) Handle(ctx context.Context, m Meta, cmd UpdateTeacherPreferences) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	a := m.Actor
	if !isStaff(a) && a.ID != cmd.TeacherID {
		return Result{}, forbidden("a teacher may only change their own preferences")
	}
	if err := domain.RequireID("teacherId", cmd.TeacherID); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Teacher { return domain.NewTeacher(cmd.TeacherID) },
		func(t *domain.Teacher) error {
			if err := t.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			return t.UpdatePreferences(cmd.Preferences, h.repo.Now())
		})
}
