package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// POST /timetables {changeKind, reason, entries}: PublishTimetable, the
// school's whole week as its next version. The result is the school's
// timetable (its ID is the school's).

type timetableEntryBody struct {
	ClassID   string `json:"classId"`
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId"`
	Day       string `json:"day"`
	Period    int    `json:"period"`
}

type publishTimetableBody struct {
	ChangeKind string               `json:"changeKind"`
	Reason     string               `json:"reason"`
	Entries    []timetableEntryBody `json:"entries"`
}

func (s *Server) timetableRoutes(school *gin.RouterGroup) {
	s.command(school, http.MethodPost, "/timetables", staffOnly,
		created(s, "PublishTimetable", commands.NewPublishTimetableHandler(s.deps.Commands), buildPublishTimetable))
}

func buildPublishTimetable(_ *gin.Context, _ commands.Meta, b publishTimetableBody) (commands.PublishTimetable, error) {
	var entries []domain.TimetableEntryInput
	if b.Entries != nil {
		entries = make([]domain.TimetableEntryInput, len(b.Entries))
	}
	for i, e := range b.Entries {
		class, err := bodyID(fmt.Sprintf("entries[%d].classId", i), e.ClassID)
		if err != nil {
			return commands.PublishTimetable{}, err
		}
		teacher, err := bodyID(fmt.Sprintf("entries[%d].teacherId", i), e.TeacherID)
		if err != nil {
			return commands.PublishTimetable{}, err
		}
		entries[i] = domain.TimetableEntryInput{ClassID: class, Subject: e.Subject, TeacherID: teacher, Day: e.Day, Period: e.Period}
	}
	return commands.PublishTimetable{ChangeKind: b.ChangeKind, Reason: b.Reason, Entries: entries}, nil
}
