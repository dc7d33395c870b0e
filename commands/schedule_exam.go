package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// maxExamClasses bounds the classes of one exam cycle: each is a stream
// read, and no school sits more classes in one cycle.
const maxExamClasses = 200

// ScheduleExam sets up an exam cycle for classes of the school. Only
// school admins (and services) may.
type ScheduleExam struct {
	ExamID    string // minted by the caller (NewID)
	Name      string
	Term      string // e.g. "2026-autumn"
	Subjects  []string
	ClassIDs  []string
	StartDate string // YYYY-MM-DD
	EndDate   string // YYYY-MM-DD
}

// ScheduleExamHandler handles ScheduleExam.
type ScheduleExamHandler struct{ repo *Repository }

func NewScheduleExamHandler(repo *Repository) ScheduleExamHandler {
	return ScheduleExamHandler{repo: repo}
}

func (h ScheduleExamHandler) Handle(ctx context.Context, m Meta, cmd ScheduleExam) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	start, err := inputDate("startDate", cmd.StartDate)
	if err != nil {
		return Result{}, err
	}
	end, err := inputDate("endDate", cmd.EndDate)
	if err != nil {
		return Result{}, err
	}
	if len(cmd.ClassIDs) > maxExamClasses {
		return Result{}, domain.Invalid("classIds", "has %d classes, at most %d are allowed", len(cmd.ClassIDs), maxExamClasses)
	}
	// Every class must be one of this school's. Blank and repeated IDs are
	// left to the domain, which names them.
	seen := map[string]bool{}
	for i, id := range cmd.ClassIDs {
		if strings.TrimSpace(id) == "" || seen[id] {
			continue
		}
		seen[id] = true
		c, _, err := Load(ctx, h.repo, domain.NewClass(id))
		if err != nil {
			return Result{}, err
		}
		if c.RequireInSchool(m.SchoolID) != nil {
			return Result{}, notFoundAs(domain.ErrClassNotFound, fmt.Sprintf("classIds[%d]", i), "class %s not found", id)
		}
	}
	in := domain.ExamInput{
		SchoolID: m.SchoolID, Name: cmd.Name, Term: cmd.Term, Subjects: cmd.Subjects, ClassIDs: cmd.ClassIDs,
		StartDate: start, EndDate: end, ScheduledBy: m.Actor.ID,
	}
	return Update(ctx, h.repo, m, func() *domain.ExamCycle { return domain.NewExamCycle(cmd.ExamID) },
		func(x *domain.ExamCycle) error { return x.Schedule(in, h.repo.Now()) })
}
