package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Classes: POST /classes, PUT /classes/{classId}/subjects/{subject}/teacher.

type createClassBody struct {
	Name       string `json:"name"`
	GradeLevel *int   `json:"gradeLevel"` // 0 is kindergarten: absent must not read as 0
	Capacity   int    `json:"capacity"`
	// Subjects are names ("mathematics") or {subject, teacherId}; each is
	// read by classSubject, which names the item at fault.
	Subjects []json.RawMessage `json:"subjects"`
}

// classSubjectBody is a subject given with its teacher.
type classSubjectBody struct {
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId"`
}

type assignSubjectTeacherBody struct {
	TeacherID string `json:"teacherId"`
}

func (s *Server) classRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	s.command(school, http.MethodPost, "/classes", staffOnly,
		created(s, "CreateClass", commands.NewCreateClassHandler(repo), buildCreateClass))
	s.command(school, http.MethodPut, "/classes/:classId/subjects/:subject/teacher", staffOnly,
		updated(s, "AssignSubjectTeacher", commands.NewAssignSubjectTeacherHandler(repo), buildAssignSubjectTeacher))
}

func buildCreateClass(_ *gin.Context, m commands.Meta, b createClassBody) (commands.CreateClass, error) {
	grade, err := required("gradeLevel", b.GradeLevel)
	if err != nil {
		return commands.CreateClass{}, err
	}
	var subjects []domain.ClassSubjectInput
	if b.Subjects != nil {
		subjects = make([]domain.ClassSubjectInput, len(b.Subjects))
	}
	for i, raw := range b.Subjects {
		if subjects[i], err = classSubject(fmt.Sprintf("subjects[%d]", i), raw); err != nil {
			return commands.CreateClass{}, err
		}
	}
	return commands.CreateClass{ClassID: commands.NewID(m, "class"), Name: b.Name, GradeLevel: grade,
		Capacity: b.Capacity, Subjects: subjects}, nil
}

// classSubject reads one item of a class's subjects: a subject's name, or
// an object with the subject and its teacher.
func classSubject(field string, raw json.RawMessage) (domain.ClassSubjectInput, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 {
		switch raw[0] {
		case '"':
			var name string
			if err := json.Unmarshal(raw, &name); err != nil {
				return domain.ClassSubjectInput{}, badRequest(field, "malformed string")
			}
			return domain.ClassSubjectInput{Subject: name}, nil
		case '{':
			var b classSubjectBody
			if err := decodeStrict(field, raw, &b); err != nil {
				return domain.ClassSubjectInput{}, err
			}
			teacher, err := bodyID(field+".teacherId", b.TeacherID)
			return domain.ClassSubjectInput{Subject: b.Subject, TeacherID: teacher}, err
		}
	}
	return domain.ClassSubjectInput{}, badRequest(field,
		"must be a subject name or an object {\"subject\", \"teacherId\"}, got %s", jsonKind(raw))
}

func buildAssignSubjectTeacher(c *gin.Context, _ commands.Meta, b assignSubjectTeacherBody) (commands.AssignSubjectTeacher, error) {
	class, err := pathID(c, "classId")
	if err != nil {
		return commands.AssignSubjectTeacher{}, err
	}
	teacher, err := bodyID("teacherId", b.TeacherID)
	return commands.AssignSubjectTeacher{ClassID: class, Subject: c.Param("subject"), TeacherID: teacher}, err
}
