package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CompleteTeacherOnboarding records that the teacher_onboarding workflow
// is done for a teacher: the timetable version that gave them lessons (0
// when none was published), the lessons assigned and left unfilled, and
// the welcome message sent. Only services (the workflow) may, once per
// teacher; the teacher must be an active teacher of the school and the
// version one the school's timetable has.
type CompleteTeacherOnboarding struct {
	TeacherID        string
	TimetableVersion int
	LessonsAssigned  int
	LessonsUnfilled  int
	WelcomeMessageID string
}

// CompleteTeacherOnboardingHandler handles CompleteTeacherOnboarding.
type CompleteTeacherOnboardingHandler struct{ repo *Repository }

func NewCompleteTeacherOnboardingHandler(repo *Repository) CompleteTeacherOnboardingHandler {
	return CompleteTeacherOnboardingHandler{repo: repo}
}

func (h CompleteTeacherOnboardingHandler) Handle(ctx context.Context, m Meta, cmd CompleteTeacherOnboarding) (Result, error) {
	if err := allowService(m); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("teacherId", cmd.TeacherID); err != nil {
		return Result{}, err
	}
	if cmd.TimetableVersion > 0 {
		tt, _, err := Load(ctx, h.repo, domain.NewTimetable(m.SchoolID))
		if err != nil {
			return Result{}, err
		}
		if cmd.TimetableVersion > tt.CurrentVersion() {
			return Result{}, notFound("timetableVersion", "the school's timetable has no version %d (current: %d)",
				cmd.TimetableVersion, tt.CurrentVersion())
		}
	}
	in := domain.OnboardingInput{TimetableVersion: cmd.TimetableVersion, LessonsAssigned: cmd.LessonsAssigned,
		LessonsUnfilled: cmd.LessonsUnfilled, WelcomeMessageID: cmd.WelcomeMessageID}
	return Update(ctx, h.repo, m, func() *domain.Teacher { return domain.NewTeacher(cmd.TeacherID) },
		func(t *domain.Teacher) error {
			if err := t.RequireInSchool(m.SchoolID); err != nil {
				return err
			}
			return t.CompleteOnboarding(in, h.repo.Now())
		})
}
