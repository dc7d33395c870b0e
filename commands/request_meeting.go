package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// RequestMeeting asks for a meeting between a teacher of a student's class
// and one of the student's guardians. School admins, a teacher of the
// student's class and a guardian of the student may request one; a
// guardian only for themself.
type RequestMeeting struct {
	MeetingID  string // minted by the caller (NewID)
	StudentID  string
	TeacherID  string
	GuardianID string
	Topic      string
}

// RequestMeetingHandler handles RequestMeeting.
type RequestMeetingHandler struct{ repo *Repository }

func NewRequestMeetingHandler(repo *Repository) RequestMeetingHandler {
	return RequestMeetingHandler{repo: repo}
}

func (h RequestMeetingHandler) Handle(ctx context.Context, m Meta, cmd RequestMeeting) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher, RoleGuardian); err != nil {
		return Result{}, err
	}
	s, err := loadStudent(ctx, h.repo, m.SchoolID, cmd.StudentID)
	if err != nil {
		return Result{}, err
	}
	if err := allowForStudent(ctx, h.repo, m, s, RoleTeacher, RoleGuardian); err != nil {
		return Result{}, err
	}
	a := m.Actor
	if a.Has(RoleGuardian) && !a.Has(RolePlatformAdmin, RoleService, RoleSchoolAdmin, RoleTeacher) && cmd.GuardianID != a.ID {
		return Result{}, forbidden("a guardian may request meetings only for themself")
	}
	if err := requireActiveStudent(s); err != nil {
		return Result{}, err
	}
	if err := domain.RequireID("guardianId", cmd.GuardianID); err != nil {
		return Result{}, err
	}
	if !s.HasGuardian(cmd.GuardianID) {
		return Result{}, domain.Invalid("guardianId", "%s is not a guardian of student %s", cmd.GuardianID, s.ID())
	}
	if _, err := activeTeacherOfSchool(ctx, h.repo, m.SchoolID, cmd.TeacherID, "teacherId"); err != nil {
		return Result{}, err
	}
	// A parent–teacher meeting is with a teacher of the student's class.
	taught := false
	if s.ClassID() != "" {
		c, err := loadClass(ctx, h.repo, m.SchoolID, s.ClassID())
		if err != nil {
			return Result{}, err
		}
		taught = teachesClass(c, cmd.TeacherID)
	}
	if !taught {
		return Result{}, domain.Invalid("teacherId", "teacher %s does not teach student %s's class", cmd.TeacherID, s.ID())
	}
	in := domain.MeetingRequest{
		SchoolID: m.SchoolID, StudentID: s.ID(), TeacherID: cmd.TeacherID, GuardianID: cmd.GuardianID,
		RequestedBy: a.ID, Topic: cmd.Topic,
	}
	return Update(ctx, h.repo, m, func() *domain.Meeting { return domain.NewMeeting(cmd.MeetingID) },
		func(mt *domain.Meeting) error { return mt.Request(in, h.repo.Now()) })
}
