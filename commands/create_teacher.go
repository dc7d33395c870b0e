package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CreateTeacher adds a teacher to a school. The teacher's ID is derived
// from the e-mail (TeacherID), which keeps addresses unique per school.
type CreateTeacher struct {
	Name        string
	Email       string
	Subjects    []string
	Preferences domain.PreferencesInput
}

// CreateTeacherHandler handles CreateTeacher.
type CreateTeacherHandler struct{ repo *Repository }

func NewCreateTeacherHandler(repo *Repository) CreateTeacherHandler {
	return CreateTeacherHandler{repo: repo}
}

func (h CreateTeacherHandler) Handle(ctx context.Context, m Meta, cmd CreateTeacher) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := requireSchool(ctx, h.repo, m.SchoolID); err != nil {
		return Result{}, err
	}
	// Validate the address before deriving an ID from it, so a bad one is
	// reported as such rather than as a missing teacher.
	if _, err := domain.ParseEmail("email", cmd.Email); err != nil {
		return Result{}, err
	}
	id := TeacherID(m.SchoolID, cmd.Email)
	return Update(ctx, h.repo, m, func() *domain.Teacher { return domain.NewTeacher(id) },
		func(t *domain.Teacher) error {
			return t.Create(m.SchoolID, cmd.Name, cmd.Email, cmd.Subjects, cmd.Preferences, h.repo.Now())
		})
}

// requireSchool checks that the command's school exists.
func requireSchool(ctx context.Context, repo *Repository, schoolID string) error {
	s, _, err := Load(ctx, repo, domain.NewSchool(schoolID))
	if err != nil {
		return err
	}
	return s.RequireExists()
}
