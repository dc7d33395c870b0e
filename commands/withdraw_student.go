package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/edusmarthub/edusmarthub/domain"
)

// WithdrawStudent takes a student off the school and off their class's
// roster. Reason is optional.
type WithdrawStudent struct {
	StudentID string
	Reason    string
}

// WithdrawStudentHandler handles WithdrawStudent.
type WithdrawStudentHandler struct{ repo *Repository }

func NewWithdrawStudentHandler(repo *Repository) WithdrawStudentHandler {
	return WithdrawStudentHandler{repo: repo}
}

func (h WithdrawStudentHandler) Handle(ctx context.Context, m Meta, cmd WithdrawStudent) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("studentId", cmd.StudentID); err != nil {
		return Result{}, err
	}
	now := h.repo.Now()
	res, err := Update(ctx, h.repo, m, func() *domain.Student { return domain.NewStudent(cmd.StudentID) },
		func(s *domain.Student) error {
			if err := s.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			return s.Withdraw(cmd.Reason, now)
		})
	// A student withdrawn before still gets the roster step: a withdrawal
	// that failed after its first write completes when repeated (the repeat
	// itself is still refused as a conflict).
	if err != nil && !errors.Is(err, domain.ErrStudentWithdrawn) {
		return Result{}, err
	}
	left, lerr := classLeft(ctx, h.repo, cmd.StudentID)
	if lerr != nil {
		return Result{}, lerr
	}
	if left != "" {
		_, lerr := Update(ctx, h.repo, sideWrite(m), func() *domain.Class { return domain.NewClass(left) },
			func(c *domain.Class) error { return c.RemoveStudent(cmd.StudentID, "withdrawn from school", now) })
		if lerr != nil {
			return Result{}, lerr
		}
	}
	return res, err
}

// classLeft is the class a withdrawn student was in when withdrawn, read
// from their withdrawal event: the student itself forgets it, and a repeat
// of the command never runs the decision that saw it.
func classLeft(ctx context.Context, repo *Repository, studentID string) (string, error) {
	_, recs, err := Load(ctx, repo, domain.NewStudent(studentID))
	if err != nil {
		return "", err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Type != domain.StudentWithdrawnType {
			continue
		}
		e, err := domain.DecodeEvent(recs[i].Type, recs[i].Data)
		if err != nil {
			return "", fmt.Errorf("student %s: %w", studentID, err)
		}
		if w, ok := e.(domain.StudentWithdrawn); ok {
			return w.ClassID, nil
		}
	}
	return "", nil
}
