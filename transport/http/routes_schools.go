package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// POST /v1/schools {name, timezone}: RegisterSchool (platform admins).
type registerSchoolBody struct {
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

func (s *Server) schoolRoutes(v1 *gin.RouterGroup) {
	s.command(v1, http.MethodPost, "/schools", roles(commands.RolePlatformAdmin),
		created(s, "RegisterSchool", commands.NewRegisterSchoolHandler(s.deps.Commands), buildRegisterSchool))
}

func buildRegisterSchool(_ *gin.Context, m commands.Meta, b registerSchoolBody) (commands.RegisterSchool, error) {
	return commands.RegisterSchool{SchoolID: commands.NewID(m, "school"), Name: b.Name, Timezone: b.Timezone}, nil
}
