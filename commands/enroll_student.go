package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// EnrollStudent enrolls a student in a school with their guardians. A
// guardian's ID is derived from their e-mail (GuardianID), so a parent of
// two children is one guardian.
type EnrollStudent struct {
	StudentID   string // minted by the caller (NewID)
	Name        string
	DateOfBirth string // YYYY-MM-DD
	GradeLevel  int
	Guardians   []EnrollStudentGuardian
}

// EnrollStudentGuardian is a guardian given at enrolment.
type EnrollStudentGuardian struct {
	Name         string
	Email        string
	Relationship string // mother, father, parent, guardian, grandparent, sibling, other
}

// EnrollStudentHandler handles EnrollStudent.
type EnrollStudentHandler struct{ repo *Repository }

func NewEnrollStudentHandler(repo *Repository) EnrollStudentHandler {
	return EnrollStudentHandler{repo: repo}
}

func (h EnrollStudentHandler) Handle(ctx context.Context, m Meta, cmd EnrollStudent) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("studentId", cmd.StudentID); err != nil {
		return Result{}, err
	}
	var dob domain.Date // zero when absent: the domain reports it as required
	if strings.TrimSpace(cmd.DateOfBirth) != "" {
		d, err := domain.ParseDate("dateOfBirth", cmd.DateOfBirth)
		if err != nil {
			return Result{}, err
		}
		dob = d
	}
	guardians, err := guardianInputs(m.SchoolID, cmd.Guardians)
	if err != nil {
		return Result{}, err
	}
	if err := requireSchool(ctx, h.repo, m.SchoolID); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Student { return domain.NewStudent(cmd.StudentID) },
		func(s *domain.Student) error {
			return s.Enroll(m.SchoolID, cmd.Name, dob, cmd.GradeLevel, guardians, h.repo.Now())
		})
}

// guardianInputs derives each guardian's ID from their e-mail. Addresses
// are validated first, so a bad one is reported as such; a repeated one is
// reported on its e-mail here, since the domain would see two equal derived
// IDs and name a guardianId field the caller never sent.
func guardianInputs(schoolID string, in []EnrollStudentGuardian) ([]domain.GuardianInput, error) {
	out := make([]domain.GuardianInput, len(in))
	seen := make(map[string]int, len(in))
	for i, g := range in {
		field := fmt.Sprintf("guardians[%d].email", i)
		email, err := domain.ParseEmail(field, g.Email)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[email.String()]; dup {
			return nil, domain.Invalid(field, "%s is already given for guardians[%d]", email, j)
		}
		seen[email.String()] = i
		out[i] = domain.GuardianInput{GuardianID: GuardianID(schoolID, email.String()), Name: g.Name,
			Email: g.Email, Relationship: g.Relationship}
	}
	return out, nil
}
