package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CompleteMeeting records that a scheduled meeting took place, with
// optional notes. School admins and the meeting's teacher may. The slot
// stays booked in the teacher's calendar: the meeting used it.
type CompleteMeeting struct {
	MeetingID string
	Notes     string
}

// CompleteMeetingHandler handles CompleteMeeting.
type CompleteMeetingHandler struct{ repo *Repository }

func NewCompleteMeetingHandler(repo *Repository) CompleteMeetingHandler {
	return CompleteMeetingHandler{repo: repo}
}

func (h CompleteMeetingHandler) Handle(ctx context.Context, m Meta, cmd CompleteMeeting) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher); err != nil {
		return Result{}, err
	}
	mt, err := loadMeeting(ctx, h.repo, m.SchoolID, cmd.MeetingID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForMeeting(m, mt, false); err != nil {
		return Result{}, err
	}
	return Update(ctx, h.repo, m, func() *domain.Meeting { return domain.NewMeeting(cmd.MeetingID) },
		func(mt *domain.Meeting) error { return mt.Complete(cmd.Notes, m.Actor.ID, h.repo.Now()) })
}
