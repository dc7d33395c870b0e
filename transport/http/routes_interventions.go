package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Interventions: POST /interventions, POST
// /interventions/{interventionId}/follow-ups, /closure.

type openInterventionBody struct {
	StudentID   string   `json:"studentId"`
	Reason      string   `json:"reason"`
	Plan        []string `json:"plan"`
	AssignedTo  string   `json:"assignedTo"`  // a teacher's ID
	FollowUpDue string   `json:"followUpDue"` // YYYY-MM-DD, checked by the command
	RiskLevel   string   `json:"riskLevel"`
}

type interventionFollowUpBody struct {
	Note            string `json:"note"`
	NextFollowUpDue string `json:"nextFollowUpDue"`
}

type closeInterventionBody struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

func (s *Server) interventionRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	// Teachers open them for students they teach and follow up the ones
	// assigned to them; the handlers check which.
	s.command(school, http.MethodPost, "/interventions", staffAndTeachers,
		created(s, "OpenIntervention", commands.NewOpenInterventionHandler(repo), buildOpenIntervention))
	s.command(school, http.MethodPost, "/interventions/:interventionId/follow-ups", staffAndTeachers,
		updated(s, "RecordInterventionFollowUp", commands.NewRecordInterventionFollowUpHandler(repo), buildInterventionFollowUp))
	s.command(school, http.MethodPost, "/interventions/:interventionId/closure", staffAndTeachers,
		updated(s, "CloseIntervention", commands.NewCloseInterventionHandler(repo), buildCloseIntervention))
}

func buildOpenIntervention(_ *gin.Context, m commands.Meta, b openInterventionBody) (commands.OpenIntervention, error) {
	student, err := bodyID("studentId", b.StudentID)
	if err != nil {
		return commands.OpenIntervention{}, err
	}
	teacher, err := bodyID("assignedTo", b.AssignedTo)
	if err != nil {
		return commands.OpenIntervention{}, err
	}
	return commands.OpenIntervention{InterventionID: commands.NewID(m, "intervention"), StudentID: student,
		Reason: b.Reason, Plan: b.Plan, AssignedTo: teacher, FollowUpDue: b.FollowUpDue, RiskLevel: b.RiskLevel}, nil
}

func buildInterventionFollowUp(c *gin.Context, _ commands.Meta, b interventionFollowUpBody) (commands.RecordInterventionFollowUp, error) {
	id, err := pathID(c, "interventionId")
	return commands.RecordInterventionFollowUp{InterventionID: id, Note: b.Note, NextFollowUpDue: b.NextFollowUpDue}, err
}

func buildCloseIntervention(c *gin.Context, _ commands.Meta, b closeInterventionBody) (commands.CloseIntervention, error) {
	id, err := pathID(c, "interventionId")
	return commands.CloseIntervention{InterventionID: id, Outcome: b.Outcome, Note: b.Note}, err
}
