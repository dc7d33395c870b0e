package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// MarkMeetingNoShow records that a scheduled meeting did not take place:
// only once its date has come (today or earlier). The parent_teacher_meeting
// workflow does it when no outcome is recorded in time; school admins,
// services and the meeting's teacher may. As for a completed meeting, the
// slot stays booked in the teacher's calendar.
type MarkMeetingNoShow struct {
	MeetingID string
	Reason    string
}

// MarkMeetingNoShowHandler handles MarkMeetingNoShow.
type MarkMeetingNoShowHandler struct{ repo *Repository }

func NewMarkMeetingNoShowHandler(repo *Repository) MarkMeetingNoShowHandler {
	return MarkMeetingNoShowHandler{repo: repo}
}

func (h MarkMeetingNoShowHandler) Handle(ctx context.Context, m Meta, cmd MarkMeetingNoShow) (Result, error) {
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
		func(mt *domain.Meeting) error { return mt.MarkNoShow(cmd.Reason, m.Actor.ID, h.repo.Now()) })
}
