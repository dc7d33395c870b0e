package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CancelMeeting calls off a requested or scheduled meeting and frees its
// slot in the teacher's calendar. School admins, the meeting's teacher and
// its guardian may.
type CancelMeeting struct {
	MeetingID string
	Reason    string
}

// CancelMeetingHandler handles CancelMeeting.
type CancelMeetingHandler struct{ repo *Repository }

func NewCancelMeetingHandler(repo *Repository) CancelMeetingHandler {
	return CancelMeetingHandler{repo: repo}
}

// Handle cancels the meeting, then releases its slot. A release lost to a
// crash in between is made good by a retry: with the same command ID the
// cancel is skipped and the release runs; without one the retry is refused
// (the meeting is closed), but releases the slot first.
func (h CancelMeetingHandler) Handle(ctx context.Context, m Meta, cmd CancelMeeting) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher, RoleGuardian); err != nil {
		return Result{}, err
	}
	mt, err := loadMeeting(ctx, h.repo, m.SchoolID, cmd.MeetingID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForMeeting(m, mt, true); err != nil {
		return Result{}, err
	}
	res, err := Update(ctx, h.repo, m, func() *domain.Meeting { return domain.NewMeeting(cmd.MeetingID) },
		func(mt *domain.Meeting) error { return mt.Cancel(cmd.Reason, m.Actor.ID, h.repo.Now()) })
	if err != nil && !(errors.Is(err, domain.ErrMeetingClosed) && mt.Status() == domain.MeetingStatusCancelled) {
		return Result{}, err
	}
	if _, relErr := Update(ctx, h.repo, sideWrite(m),
		func() *domain.TeacherCalendar { return domain.NewTeacherCalendar(mt.TeacherID()) },
		func(c *domain.TeacherCalendar) error { return c.Release(mt.ID(), h.repo.Now()) }); relErr != nil {
		return Result{}, errors.Join(err, fmt.Errorf("release the calendar slot: %w", relErr))
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}
