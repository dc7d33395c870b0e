package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// POST /students/{studentId}/performance {subject, grade, assessmentType,
// assessedAt}: RecordPerformance. The result is the student's performance
// record (one stream per student); Location names the new assessment.

type recordPerformanceBody struct {
	Subject        string   `json:"subject"`
	Grade          *float64 `json:"grade"` // 0 is a grade: absent must not read as 0
	AssessmentType string   `json:"assessmentType"`
	AssessedAt     string   `json:"assessedAt"` // RFC 3339
}

func (s *Server) performanceRoutes(school *gin.RouterGroup) {
	// Teachers record for the students of the classes they teach; the
	// handler checks which.
	s.command(school, http.MethodPost, "/students/:studentId/performance", staffAndTeachers,
		created(s, "RecordPerformance", commands.NewRecordPerformanceHandler(s.deps.Commands), buildRecordPerformance))
}

func buildRecordPerformance(c *gin.Context, m commands.Meta, b recordPerformanceBody) (commands.RecordPerformance, error) {
	student, err := pathID(c, "studentId")
	if err != nil {
		return commands.RecordPerformance{}, err
	}
	grade, err := required("grade", b.Grade)
	if err != nil {
		return commands.RecordPerformance{}, err
	}
	var at time.Time // zero when absent: the command reports it as required
	if raw := strings.TrimSpace(b.AssessedAt); raw != "" {
		if at, err = time.Parse(time.RFC3339, raw); err != nil {
			return commands.RecordPerformance{}, invalidField("assessedAt",
				"must be an RFC 3339 date-time such as 2026-03-03T10:00:00Z, got %q", b.AssessedAt)
		}
	}
	id := commands.NewID(m, "assessment")
	locateAt(c, strings.TrimSuffix(c.Request.URL.Path, "/")+"/"+id)
	return commands.RecordPerformance{StudentID: student, AssessmentID: id, Subject: b.Subject, Grade: grade,
		AssessmentType: b.AssessmentType, AssessedAt: at}, nil
}
