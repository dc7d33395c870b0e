package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// PublishTimetable makes a whole week of lessons the school's timetable, as
// its next version. ChangeKind is minor or major; Reason is optional.
type PublishTimetable struct {
	ChangeKind string
	Reason     string
	Entries    []domain.TimetableEntryInput
}

// PublishTimetableHandler handles PublishTimetable.
type PublishTimetableHandler struct{ repo *Repository }

func NewPublishTimetableHandler(repo *Repository) PublishTimetableHandler {
	return PublishTimetableHandler{repo: repo}
}

func (h PublishTimetableHandler) Handle(ctx context.Context, m Meta, cmd PublishTimetable) (Result, error) {
	if err := allow(m, RoleSchoolAdmin); err != nil {
		return Result{}, err
	}
	// Check the form of the week before reading a stream per teacher and
	// class it names: a malformed or oversized request costs no I/O.
	if _, err := domain.ChangeKindFromString("changeKind", cmd.ChangeKind); err != nil {
		return Result{}, err
	}
	if _, err := domain.ParseTimetableEntries("entries", cmd.Entries); err != nil {
		return Result{}, err
	}
	teacherIDs := make([]string, len(cmd.Entries))
	classIDs := make([]string, len(cmd.Entries))
	for i, e := range cmd.Entries {
		teacherIDs[i], classIDs[i] = e.TeacherID, e.ClassID
	}
	teachers, err := teacherInfos(ctx, h.repo, m.SchoolID, teacherIDs)
	if err != nil {
		return Result{}, err
	}
	classes, err := classInfos(ctx, h.repo, m.SchoolID, classIDs)
	if err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Timetable { return domain.NewTimetable(m.SchoolID) },
		func(tt *domain.Timetable) error {
			return tt.Publish(cmd.ChangeKind, cmd.Entries, teachers, classes, cmd.Reason, h.repo.Now())
		})
}
