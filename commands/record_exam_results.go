package commands

import (
	"context"
	"slices"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RecordExamResults records grades of an exam cycle, one per student and
// subject (a later one corrects an earlier one) until the results are
// published. School admins may record for every student who sits the
// cycle; a teacher only for the students of the cycle's classes they teach.
type RecordExamResults struct {
	ExamID  string
	Results []domain.ExamResultInput
}

// RecordExamResultsHandler handles RecordExamResults.
type RecordExamResultsHandler struct{ repo *Repository }

func NewRecordExamResultsHandler(repo *Repository) RecordExamResultsHandler {
	return RecordExamResultsHandler{repo: repo}
}

func (h RecordExamResultsHandler) Handle(ctx context.Context, m Meta, cmd RecordExamResults) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	x, err := loadExam(ctx, h.repo, m.SchoolID, cmd.ExamID)
	if err != nil {
		return Result{}, err
	}
	// Who sits the cycle: the rosters of its classes as they are now.
	staff := isStaff(m.Actor)
	var eligible, taught []string
	for _, id := range x.ClassIDs() {
		c, err := loadClass(ctx, h.repo, m.SchoolID, id)
		if err != nil {
			return Result{}, err
		}
		eligible = append(eligible, c.Roster()...)
		if !staff && teachesClass(c, m.Actor.ID) {
			taught = append(taught, c.Roster()...)
		}
	}
	if !staff {
		if len(taught) == 0 {
			return Result{}, forbidden("actor %s teaches none of the classes of exam cycle %s", m.Actor.ID, x.ID())
		}
		for _, r := range cmd.Results {
			// Students outside the cycle are the domain's to report; those
			// of a class the teacher does not teach are not theirs to grade.
			if slices.Contains(eligible, r.StudentID) && !slices.Contains(taught, r.StudentID) {
				return Result{}, forbidden("actor %s does not teach student %s", m.Actor.ID, r.StudentID)
			}
		}
	}
	return Update(ctx, h.repo, m, func() *domain.ExamCycle { return domain.NewExamCycle(cmd.ExamID) },
		func(x *domain.ExamCycle) error {
			return x.RecordResults(cmd.Results, eligible, m.Actor.ID, h.repo.Now())
		})
}
