package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AssignStudentToClass puts a student in a class, taking them off the
// roster of the class they were in. The result is the student's.
type AssignStudentToClass struct {
	StudentID string
	ClassID   string
}

// AssignStudentToClassHandler handles AssignStudentToClass.
type AssignStudentToClassHandler struct{ repo *Repository }

func NewAssignStudentToClassHandler(repo *Repository) AssignStudentToClassHandler {
	return AssignStudentToClassHandler{repo: repo}
}

// errStudentMoved: the student changed between the command loading them
// and assigning them, so the roster they left may not be the one it saw.
var errStudentMoved = errors.New("student changed meanwhile")

// maxMoveAttempts bounds the restarts of a move raced by another move.
const maxMoveAttempts = 3

func (h AssignStudentToClassHandler) Handle(ctx context.Context, m Meta, cmd AssignStudentToClass) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("classId", cmd.ClassID); err != nil {
		return Result{}, err
	}
	for range maxMoveAttempts {
		res, err := h.move(ctx, m, cmd)
		if !errors.Is(err, errStudentMoved) {
			return res, err
		}
	}
	return Result{}, fmt.Errorf("%w: student %s kept changing class after %d attempts", ErrConcurrentUpdate, cmd.StudentID, maxMoveAttempts)
}

// move runs the three writes of an assignment: the student onto the new
// roster, off the old one, then the student's own record. The roster steps
// come first and are idempotent (adding a student already on a roster,
// removing one who is not, raise nothing), so a command that fails half-way
// completes when retried, and the student's class is never one whose
// roster lacks them. The last step requires the student unchanged since
// loaded; otherwise another move ran in between and this one starts over
// from the student's new class.
func (h AssignStudentToClassHandler) move(ctx context.Context, m Meta, cmd AssignStudentToClass) (Result, error) {
	s, err := loadStudent(ctx, h.repo, m.SchoolID, cmd.StudentID)
	if err != nil {
		return Result{}, err
	}
	if err := requireVersion(m, s); err != nil {
		return Result{}, err
	}
	now := h.repo.Now()
	info, prev, loaded := s.Info(), s.ClassID(), s.Version()
	// A student already in the class was put on its roster before being
	// assigned: nothing to write. Re-adding them could undo the roster
	// step of a move away that is under way.
	if prev != cmd.ClassID {
		_, err = Update(ctx, h.repo, sideWrite(m), func() *domain.Class { return domain.NewClass(cmd.ClassID) },
			func(c *domain.Class) error {
				if err := c.RequireInSchool(m.SchoolID); err != nil {
					return err
				}
				return c.AddStudent(info, now)
			})
		if err != nil {
			return Result{}, err
		}
		if prev != "" {
			_, err := Update(ctx, h.repo, sideWrite(m), func() *domain.Class { return domain.NewClass(prev) },
				func(c *domain.Class) error { return c.RemoveStudent(cmd.StudentID, "moved to class "+cmd.ClassID, now) })
			if err != nil {
				return Result{}, err
			}
		}
	}
	return Update(ctx, h.repo, m, func() *domain.Student { return domain.NewStudent(cmd.StudentID) },
		func(st *domain.Student) error {
			if err := st.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			if st.Version() != loaded {
				return errStudentMoved
			}
			return st.AssignToClass(cmd.ClassID, now)
		})
}
