package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Parent–teacher meetings: POST /meetings, then POST
// /meetings/{meetingId}/schedule, /completion or /cancellation.

type requestMeetingBody struct {
	StudentID  string `json:"studentId"`
	TeacherID  string `json:"teacherId"`
	GuardianID string `json:"guardianId"`
	Topic      string `json:"topic"`
}

type scheduleMeetingBody struct {
	Date   string `json:"date"` // YYYY-MM-DD, checked by the command
	Period int    `json:"period"`
}

type completeMeetingBody struct {
	Notes string `json:"notes"`
}

type cancelMeetingBody struct {
	Reason string `json:"reason"`
}

func (s *Server) meetingRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	// Guardians request meetings about their children and may call them
	// off; scheduling and completing are for the teacher and the school.
	s.command(school, http.MethodPost, "/meetings", anyMember,
		created(s, "RequestMeeting", commands.NewRequestMeetingHandler(repo), buildRequestMeeting))
	s.command(school, http.MethodPost, "/meetings/:meetingId/schedule", staffAndTeachers,
		updated(s, "ScheduleMeeting", commands.NewScheduleMeetingHandler(repo), buildScheduleMeeting))
	s.command(school, http.MethodPost, "/meetings/:meetingId/completion", staffAndTeachers,
		updated(s, "CompleteMeeting", commands.NewCompleteMeetingHandler(repo), buildCompleteMeeting))
	s.command(school, http.MethodPost, "/meetings/:meetingId/cancellation", anyMember,
		updated(s, "CancelMeeting", commands.NewCancelMeetingHandler(repo), buildCancelMeeting))
}

func buildRequestMeeting(_ *gin.Context, m commands.Meta, b requestMeetingBody) (commands.RequestMeeting, error) {
	cmd := commands.RequestMeeting{MeetingID: commands.NewID(m, "meeting"), Topic: b.Topic}
	var err error
	if cmd.StudentID, err = bodyID("studentId", b.StudentID); err != nil {
		return commands.RequestMeeting{}, err
	}
	if cmd.TeacherID, err = bodyID("teacherId", b.TeacherID); err != nil {
		return commands.RequestMeeting{}, err
	}
	if cmd.GuardianID, err = bodyID("guardianId", b.GuardianID); err != nil {
		return commands.RequestMeeting{}, err
	}
	return cmd, nil
}

func buildScheduleMeeting(c *gin.Context, _ commands.Meta, b scheduleMeetingBody) (commands.ScheduleMeeting, error) {
	id, err := pathID(c, "meetingId")
	return commands.ScheduleMeeting{MeetingID: id, Date: b.Date, Period: b.Period}, err
}

func buildCompleteMeeting(c *gin.Context, _ commands.Meta, b completeMeetingBody) (commands.CompleteMeeting, error) {
	id, err := pathID(c, "meetingId")
	return commands.CompleteMeeting{MeetingID: id, Notes: b.Notes}, err
}

func buildCancelMeeting(c *gin.Context, _ commands.Meta, b cancelMeetingBody) (commands.CancelMeeting, error) {
	id, err := pathID(c, "meetingId")
	return commands.CancelMeeting{MeetingID: id, Reason: b.Reason}, err
}
