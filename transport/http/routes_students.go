package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Students: POST /students, POST /students/{studentId}/class-assignment,
// POST /students/{studentId}/withdrawal.

type guardianBody struct {
	Name         string `json:"name"`
	Email        string `json:"email"`
	Relationship string `json:"relationship"`
}

type enrollStudentBody struct {
	Name        string         `json:"name"`
	DateOfBirth string         `json:"dateOfBirth"` // YYYY-MM-DD, checked by the command
	GradeLevel  *int           `json:"gradeLevel"`  // 0 is kindergarten: absent must not read as 0
	Guardians   []guardianBody `json:"guardians"`
}

type assignStudentToClassBody struct {
	ClassID string `json:"classId"`
}

type withdrawStudentBody struct {
	Reason string `json:"reason"`
}

func (s *Server) studentRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	s.command(school, http.MethodPost, "/students", staffOnly,
		created(s, "EnrollStudent", commands.NewEnrollStudentHandler(repo), buildEnrollStudent))
	s.command(school, http.MethodPost, "/students/:studentId/class-assignment", staffOnly,
		updated(s, "AssignStudentToClass", commands.NewAssignStudentToClassHandler(repo), buildAssignStudentToClass))
	s.command(school, http.MethodPost, "/students/:studentId/withdrawal", staffOnly,
		updated(s, "WithdrawStudent", commands.NewWithdrawStudentHandler(repo), buildWithdrawStudent))
}

func buildEnrollStudent(_ *gin.Context, m commands.Meta, b enrollStudentBody) (commands.EnrollStudent, error) {
	grade, err := required("gradeLevel", b.GradeLevel)
	if err != nil {
		return commands.EnrollStudent{}, err
	}
	var guardians []commands.EnrollStudentGuardian
	if b.Guardians != nil {
		guardians = make([]commands.EnrollStudentGuardian, len(b.Guardians))
	}
	for i, g := range b.Guardians {
		guardians[i] = commands.EnrollStudentGuardian{Name: g.Name, Email: g.Email, Relationship: g.Relationship}
	}
	return commands.EnrollStudent{StudentID: commands.NewID(m, "student"), Name: b.Name, DateOfBirth: b.DateOfBirth,
		GradeLevel: grade, Guardians: guardians}, nil
}

func buildAssignStudentToClass(c *gin.Context, _ commands.Meta, b assignStudentToClassBody) (commands.AssignStudentToClass, error) {
	student, err := pathID(c, "studentId")
	if err != nil {
		return commands.AssignStudentToClass{}, err
	}
	class, err := bodyID("classId", b.ClassID)
	return commands.AssignStudentToClass{StudentID: student, ClassID: class}, err
}

func buildWithdrawStudent(c *gin.Context, _ commands.Meta, b withdrawStudentBody) (commands.WithdrawStudent, error) {
	student, err := pathID(c, "studentId")
	return commands.WithdrawStudent{StudentID: student, Reason: b.Reason}, err
}
