package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Hooks for the black-box tests: they register stand-in command routes to
// exercise the shared machinery before the real commands exist.

// AddSchoolCommand registers a command under /v1/schools/:schoolId.
func AddSchoolCommand[B any](s *Server, method, path string, allow []commands.Role, name string, created bool, fn CommandFunc[B]) {
	s.command(s.school, method, path, roles(allow...), spec(name, created, fn))
}

// AddV1Command registers a command under /v1, outside any school.
func AddV1Command[B any](s *Server, method, path string, allow []commands.Role, name string, created bool, fn CommandFunc[B]) {
	s.command(s.v1, method, path, roles(allow...), spec(name, created, fn))
}

func spec[B any](name string, created bool, fn CommandFunc[B]) commandSpec {
	if created {
		return create(name, fn)
	}
	return update(name, fn)
}

// RouteErrors are the route registration errors so far.
func RouteErrors(s *Server) []error { return s.routeErrs }

// Routes lists the registered routes.
func Routes(s *Server) gin.RoutesInfo { return s.engine.Routes() }

// UUIDField exposes uuidField.
var UUIDField = uuidField

// BindJSON exposes bindJSON, for handlers that are not commands.
var BindJSON = bindJSON

// AddSchoolQuery registers a read route under /v1/schools/:schoolId.
func AddSchoolQuery(s *Server, method, path string, allow []commands.Role, h gin.HandlerFunc) {
	s.query(s.school, method, path, roles(allow...), h)
}

// NewAggregateID exposes newAggregateID.
var NewAggregateID = newAggregateID
