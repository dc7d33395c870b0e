package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
)

const (
	ctxSchoolID = "httpapi.schoolID"
	realm       = `Bearer realm="edusmarthub"`
)

// authenticate requires a valid bearer token and puts its actor in the
// context. Failures are 401 with WWW-Authenticate (RFC 6750).
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	if h == "" {
		s.unauthorized(c, "", "send Authorization: Bearer <token>")
		return
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		s.unauthorized(c, "invalid_request", "the Authorization header must be Bearer <token>")
		return
	}
	actor, err := auth.Verify(s.cfg.JWTSecret, token, s.cfg.Now())
	if err != nil {
		s.unauthorized(c, "invalid_token", err.Error())
		return
	}
	c.Set(ctxActor, actor)
	c.Set(ctxLogger, logger(c).With("actor", actor.ID))
}

func (s *Server) unauthorized(c *gin.Context, code, detail string) {
	challenge := realm
	if code != "" {
		// error_description is a quoted-string: keep it to safe characters.
		desc := strings.Map(func(r rune) rune {
			if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
				return ' '
			}
			return r
		}, detail)
		challenge += fmt.Sprintf(`, error=%q, error_description="%s"`, code, desc)
	}
	c.Header("WWW-Authenticate", challenge)
	abortWithError(c, newProblem(http.StatusUnauthorized, TypeUnauthorized, detail))
}

// actorFrom is the authenticated caller (zero outside /v1).
func actorFrom(c *gin.Context) commands.Actor {
	a, _ := c.Value(ctxActor).(commands.Actor)
	return a
}

// scopeSchool guards /v1/schools/:schoolId: the caller must belong to the
// school or be a platform admin. It stores the canonical school ID for the
// handlers (commandMeta, queries).
func (s *Server) scopeSchool(c *gin.Context) {
	id, ok := parseUUIDParam(c, "schoolId")
	if !ok {
		return
	}
	school := id.String()
	a := actorFrom(c)
	if !a.Has(commands.RolePlatformAdmin) && a.SchoolID != school {
		abortWithError(c, newProblem(http.StatusForbidden, TypeForbidden, "you do not belong to school "+school))
		return
	}
	c.Set(ctxSchoolID, school)
}

// requireRoles lets through callers holding one of allow.
func (s *Server) requireRoles(allow roleSet) gin.HandlerFunc {
	names := make([]string, len(allow))
	for i, r := range allow {
		names[i] = string(r)
	}
	detail := "this needs one of the roles: " + strings.Join(names, ", ")
	return func(c *gin.Context) {
		if !actorFrom(c).Has(allow...) {
			abortWithError(c, newProblem(http.StatusForbidden, TypeForbidden, detail))
		}
	}
}
