package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Attendance: POST /classes/{classId}/attendance takes a register (one
// class, date and period); POST
// /classes/{classId}/attendance/{date}/{period}/amendments corrects lines
// of one already taken. An amendment is its own sub-resource rather than
// a PUT of the register because it changes only the lines it names and
// is recorded as such.

type attendanceEntryBody struct {
	StudentID string `json:"studentId"`
	Status    string `json:"status"`
	Note      string `json:"note"`
}

type recordAttendanceBody struct {
	Date    string                `json:"date"`
	Period  int                   `json:"period"`
	Entries []attendanceEntryBody `json:"entries"`
}

type amendAttendanceBody struct {
	Entries []attendanceEntryBody `json:"entries"`
}

func (s *Server) attendanceRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	s.command(school, http.MethodPost, "/classes/:classId/attendance", staffAndTeachers,
		created(s, "RecordAttendance", commands.NewRecordAttendanceHandler(repo), buildRecordAttendance))
	s.command(school, http.MethodPost, "/classes/:classId/attendance/:date/:period/amendments", staffAndTeachers,
		updated(s, "AmendAttendance", commands.NewAmendAttendanceHandler(repo), buildAmendAttendance))
}

func buildRecordAttendance(c *gin.Context, _ commands.Meta, b recordAttendanceBody) (commands.RecordAttendance, error) {
	class, err := pathID(c, "classId")
	if err != nil {
		return commands.RecordAttendance{}, err
	}
	entries, err := attendanceEntries(b.Entries)
	if err != nil {
		return commands.RecordAttendance{}, err
	}
	// The new resource is the register, addressed as its amendments are.
	date := strings.TrimSpace(b.Date)
	locateAt(c, fmt.Sprintf("%s/%s/%d", strings.TrimSuffix(c.Request.URL.Path, "/"), date, b.Period))
	return commands.RecordAttendance{ClassID: class, Date: date, Period: b.Period, Entries: entries}, nil
}

func buildAmendAttendance(c *gin.Context, _ commands.Meta, b amendAttendanceBody) (commands.AmendAttendance, error) {
	class, err := pathID(c, "classId")
	if err != nil {
		return commands.AmendAttendance{}, err
	}
	raw := c.Param("period")
	period, err := strconv.Atoi(raw)
	if err != nil {
		return commands.AmendAttendance{}, badRequest("period", "must be a period number (1 to %d), got %q", domain.MaxPeriod, raw)
	}
	entries, err := attendanceEntries(b.Entries)
	if err != nil {
		return commands.AmendAttendance{}, err
	}
	// The command checks the date and the period's range, naming them.
	return commands.AmendAttendance{ClassID: class, Date: c.Param("date"), Period: period, Entries: entries}, nil
}

func attendanceEntries(in []attendanceEntryBody) ([]domain.AttendanceEntryInput, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]domain.AttendanceEntryInput, len(in))
	for i, e := range in {
		id, err := bodyID(fmt.Sprintf("entries[%d].studentId", i), e.StudentID)
		if err != nil {
			return nil, err
		}
		out[i] = domain.AttendanceEntryInput{StudentID: id, Status: e.Status, Note: e.Note}
	}
	return out, nil
}
