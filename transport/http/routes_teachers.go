package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Teachers: POST /teachers, PUT /teachers/{teacherId}/preferences,
// POST /teachers/{teacherId}/deactivation.

type preferencesBody struct {
	PreferredTimeSlots []string `json:"preferredTimeSlots"`
	MaxClassesPerDay   int      `json:"maxClassesPerDay"`
}

func (p preferencesBody) input() domain.PreferencesInput {
	return domain.PreferencesInput{PreferredTimeSlots: p.PreferredTimeSlots, MaxClassesPerDay: p.MaxClassesPerDay}
}

type createTeacherBody struct {
	Name        string          `json:"name"`
	Email       string          `json:"email"`
	Subjects    []string        `json:"subjects"`
	Preferences preferencesBody `json:"preferences"`
}

type deactivateTeacherBody struct {
	Reason string `json:"reason"`
}

func (s *Server) teacherRoutes(school *gin.RouterGroup) {
	repo := s.deps.Commands
	s.command(school, http.MethodPost, "/teachers", staffOnly,
		created(s, "CreateTeacher", commands.NewCreateTeacherHandler(repo), buildCreateTeacher))
	// A teacher may change their own preferences; the handler checks whose.
	s.command(school, http.MethodPut, "/teachers/:teacherId/preferences", staffAndTeachers,
		updated(s, "UpdateTeacherPreferences", commands.NewUpdateTeacherPreferencesHandler(repo), buildUpdateTeacherPreferences))
	s.command(school, http.MethodPost, "/teachers/:teacherId/deactivation", staffOnly,
		updated(s, "DeactivateTeacher", commands.NewDeactivateTeacherHandler(repo), buildDeactivateTeacher))
}

func buildCreateTeacher(_ *gin.Context, _ commands.Meta, b createTeacherBody) (commands.CreateTeacher, error) {
	// The teacher's ID follows from the e-mail (commands.TeacherID).
	return commands.CreateTeacher{Name: b.Name, Email: b.Email, Subjects: b.Subjects, Preferences: b.Preferences.input()}, nil
}

func buildUpdateTeacherPreferences(c *gin.Context, _ commands.Meta, b preferencesBody) (commands.UpdateTeacherPreferences, error) {
	id, err := pathID(c, "teacherId")
	if err != nil {
		return commands.UpdateTeacherPreferences{}, err
	}
	// Checked here too, for the error's field: the domain names it
	// "preferences.maxClassesPerDay", but this body is the preferences.
	if _, err := domain.ParseTeacherPreferences("preferences", b.input()); err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			cp := *de
			cp.Field = strings.TrimPrefix(cp.Field, "preferences.")
			return commands.UpdateTeacherPreferences{}, &cp
		}
		return commands.UpdateTeacherPreferences{}, err
	}
	return commands.UpdateTeacherPreferences{TeacherID: id, Preferences: b.input()}, nil
}

func buildDeactivateTeacher(c *gin.Context, _ commands.Meta, b deactivateTeacherBody) (commands.DeactivateTeacher, error) {
	id, err := pathID(c, "teacherId")
	return commands.DeactivateTeacher{TeacherID: id, Reason: b.Reason}, err
}
