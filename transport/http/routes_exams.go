package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Exam cycles: POST /exams, POST /exams/{examId}/results,
// POST /exams/{examId}/publication.

type scheduleExamBody struct {
	Name      string   `json:"name"`
	Term      string   `json:"term"`
	Subjects  []string `json:"subjects"`
	ClassIDs  []string `json:"classIds"`
	StartDate string   `json:"startDate"` // YYYY-MM-DD, checked by the command
	EndDate   string   `json:"endDate"`
}

type examResultBody struct {
	StudentID string   `json:"studentId"`
	Subject   string   `json:"subject"`
	Grade     *float64 `json:"grade"` // 0 is a grade: absent must not read as 0
}

type recordExamResultsBody struct {
	Results []examResultBody `json:"results"`
}

func (s *Server) examRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	s.command(school, http.MethodPost, "/exams", staffOnly,
		created(s, "ScheduleExam", commands.NewScheduleExamHandler(repo), buildScheduleExam))
	// Teachers record results for the students of the classes they teach.
	s.command(school, http.MethodPost, "/exams/:examId/results", staffAndTeachers,
		updated(s, "RecordExamResults", commands.NewRecordExamResultsHandler(repo), buildRecordExamResults))
	s.command(school, http.MethodPost, "/exams/:examId/publication", staffOnly,
		updated(s, "PublishExamResults", commands.NewPublishExamResultsHandler(repo), buildPublishExamResults))
}

func buildScheduleExam(_ *gin.Context, m commands.Meta, b scheduleExamBody) (commands.ScheduleExam, error) {
	var classes []string
	if b.ClassIDs != nil {
		classes = make([]string, len(b.ClassIDs))
	}
	for i, raw := range b.ClassIDs {
		id, err := bodyID(fmt.Sprintf("classIds[%d]", i), raw)
		if err != nil {
			return commands.ScheduleExam{}, err
		}
		classes[i] = id
	}
	return commands.ScheduleExam{ExamID: commands.NewID(m, "exam"), Name: b.Name, Term: b.Term, Subjects: b.Subjects,
		ClassIDs: classes, StartDate: b.StartDate, EndDate: b.EndDate}, nil
}

func buildRecordExamResults(c *gin.Context, _ commands.Meta, b recordExamResultsBody) (commands.RecordExamResults, error) {
	exam, err := pathID(c, "examId")
	if err != nil {
		return commands.RecordExamResults{}, err
	}
	var results []domain.ExamResultInput
	if b.Results != nil {
		results = make([]domain.ExamResultInput, len(b.Results))
	}
	for i, r := range b.Results {
		student, err := bodyID(fmt.Sprintf("results[%d].studentId", i), r.StudentID)
		if err != nil {
			return commands.RecordExamResults{}, err
		}
		grade, err := required(fmt.Sprintf("results[%d].grade", i), r.Grade)
		if err != nil {
			return commands.RecordExamResults{}, err
		}
		results[i] = domain.ExamResultInput{StudentID: student, Subject: r.Subject, Grade: grade}
	}
	return commands.RecordExamResults{ExamID: exam, Results: results}, nil
}

func buildPublishExamResults(c *gin.Context, _ commands.Meta, _ NoBody) (commands.PublishExamResults, error) {
	exam, err := pathID(c, "examId")
	return commands.PublishExamResults{ExamID: exam}, err
}
