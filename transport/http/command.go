package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
)

// CommandFunc runs one command for a route: body is the request body,
// strictly decoded; m is who asks and why (school from the path, actor,
// IDs, If-Match, a command ID fixed by Idempotency-Key). Path parameters
// come from c (pathUUID). Return the command's result or its error as is:
// s.command maps errors to problems and counts the outcome.
type CommandFunc[Body any] func(c *gin.Context, m commands.Meta, body Body) (commands.Result, error)

// NoBody is the body type of a command that takes none: an empty body or
// {} is accepted, anything else is a 400.
type NoBody struct{}

// commandSpec is what s.command needs to know about a command; build it
// with create or update.
type commandSpec struct {
	name   string // metrics label, e.g. "CreateTeacher"; constant, never renamed
	status int    // 201 for a create, 200 otherwise
	run    func(c *gin.Context, m commands.Meta) (commands.Result, error)
}

// create is a command that makes a new resource: 201 with a Location.
func create[Body any](name string, fn CommandFunc[Body]) commandSpec {
	return commandSpec{name: name, status: http.StatusCreated, run: bound(fn)}
}

// update is a command on an existing resource: 200.
func update[Body any](name string, fn CommandFunc[Body]) commandSpec {
	return commandSpec{name: name, status: http.StatusOK, run: bound(fn)}
}

func bound[Body any](fn CommandFunc[Body]) func(*gin.Context, commands.Meta) (commands.Result, error) {
	return func(c *gin.Context, m commands.Meta) (commands.Result, error) {
		var body Body
		_, optional := any(body).(NoBody)
		if err := decodeBody(c.Request, &body, optional); err != nil {
			return commands.Result{}, err
		}
		return fn(c, m, body)
	}
}

// roleSet is who may call a route.
type roleSet []commands.Role

// roles lists the roles allowed on a route. Nobody else gets in.
func roles(rs ...commands.Role) roleSet { return rs }

// command registers a command route on g:
//
//	s.command(school, http.MethodPost, "/teachers", roles(commands.RoleSchoolAdmin),
//		create("CreateTeacher", s.createTeacher))
//
// Before the handler runs, the caller's role is checked (403), path
// parameters named "...Id" are checked to be UUIDs (400), and
// Idempotency-Key is honoured. The handler's result is written as
// {"id","stream","version","position"} with an ETag; errors become
// problems; every outcome is counted in commands_total.
func (s *Server) command(g *gin.RouterGroup, method, path string, allow roleSet, spec commandSpec) {
	if err := checkRoute(allow, spec.name, spec.run != nil); err != nil {
		s.routeErrs = append(s.routeErrs, fmt.Errorf("%s %s: %w", method, path, err))
		return
	}
	g.Handle(method, path, s.requireRoles(allow), checkPathIDs, s.idempotency(spec.name), s.runCommand(spec))
}

// query registers a read route on g: role check and "...Id" parameter
// check, then h.
func (s *Server) query(g *gin.RouterGroup, method, path string, allow roleSet, h gin.HandlerFunc) {
	if err := checkRoute(allow, "query", h != nil); err != nil {
		s.routeErrs = append(s.routeErrs, fmt.Errorf("%s %s: %w", method, path, err))
		return
	}
	g.Handle(method, path, s.requireRoles(allow), checkPathIDs, h)
}

func checkRoute(allow roleSet, name string, hasHandler bool) error {
	switch {
	case len(allow) == 0:
		return fmt.Errorf("no roles allowed: nobody could call it")
	case name == "":
		return fmt.Errorf("command has no name")
	case !hasHandler:
		return fmt.Errorf("no handler")
	}
	return nil
}

func (s *Server) runCommand(spec commandSpec) gin.HandlerFunc {
	return func(c *gin.Context) {
		m, err := commandMeta(c)
		if err == nil {
			var res commands.Result
			res, err = spec.run(c, m)
			if err == nil {
				s.commandDone(spec.name, nil)
				writeResult(c, spec.status, res)
				return
			}
		}
		s.commandDone(spec.name, err)
		abortWithError(c, err)
	}
}

// checkPathIDs rejects path parameters named like IDs ("studentId") that
// are not UUIDs, naming the parameter, before anything else looks at them.
func checkPathIDs(c *gin.Context) {
	for _, p := range c.Params {
		if strings.HasSuffix(p.Key, "Id") {
			if _, err := pathUUID(c, p.Key); err != nil {
				abortWithError(c, err)
				return
			}
		}
	}
}

// commandMeta builds the command's metadata from the request: school from
// the path, the authenticated actor, request and correlation IDs, If-Match
// as the expected version, and the command ID (from Idempotency-Key when
// given, else fresh).
func commandMeta(c *gin.Context) (commands.Meta, error) {
	expected, err := ifMatch(c.Request)
	if err != nil {
		return commands.Meta{}, err
	}
	id := c.GetString(ctxCommandID)
	if id == "" {
		id = uuid.NewString()
	}
	return commands.Meta{
		CommandID:       id,
		SchoolID:        c.GetString(ctxSchoolID),
		Actor:           actorFrom(c),
		CorrelationID:   c.GetString(ctxCorrelationID),
		CausationID:     id,
		RequestID:       c.GetString(ctxRequestID),
		ExpectedVersion: expected,
	}, nil
}

// writeResult answers a command: the result as JSON, the stream version
// as ETag (send it back in If-Match), and for a 201 the new resource's
// Location.
func writeResult(c *gin.Context, status int, res commands.Result) {
	c.Header("ETag", strconv.Quote(strconv.FormatUint(res.Version, 10)))
	if status == http.StatusCreated && res.ID != "" {
		c.Header("Location", strings.TrimSuffix(c.Request.URL.Path, "/")+"/"+res.ID)
	}
	c.JSON(status, res)
}

var aggregateIDSpace = uuid.MustParse("3c0f7a52-8d1e-4b6a-9f27-5e4d3c2b1a09")

// newAggregateID is the ID for the aggregate a create command makes. It is
// derived from the command ID, so a create retried with the same
// Idempotency-Key targets the same stream (and its events' IDs make the
// retry a no-op) even if the stored response was lost; without a key the
// command ID is random and so is this.
func newAggregateID(m commands.Meta) string {
	return uuid.NewSHA1(aggregateIDSpace, []byte(m.CommandID)).String()
}
