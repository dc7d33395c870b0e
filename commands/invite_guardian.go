package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// InviteGuardian invites a guardian of an enrolled student to the school's
// services (auth channel), at the name and address the enrolment recorded.
// The student_enrollment_complete workflow does it for each guardian of a
// new student; school admins and services may. A guardian already invited
// (for another child) is a conflict, domain.ErrGuardianAlreadyInvited,
// which a workflow counts as done.
type InviteGuardian struct {
	StudentID  string
	GuardianID string
}

// InviteGuardianHandler handles InviteGuardian.
type InviteGuardianHandler struct{ repo *Repository }

func NewInviteGuardianHandler(repo *Repository) InviteGuardianHandler {
	return InviteGuardianHandler{repo: repo}
}

func (h InviteGuardianHandler) Handle(ctx context.Context, m Meta, cmd InviteGuardian) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("guardianId", cmd.GuardianID); err != nil {
		return Result{}, err
	}
	s, err := loadStudent(ctx, h.repo, m.SchoolID, cmd.StudentID)
	if err != nil {
		return Result{}, err
	}
	if err := requireActiveStudent(s); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.GuardianAccount { return domain.NewGuardianAccount(cmd.GuardianID) },
		func(g *domain.GuardianAccount) error {
			return g.Invite(m.SchoolID, s.ID(), s.Guardians(), h.repo.Now())
		})
}
