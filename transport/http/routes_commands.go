package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
)

// What the command routes share: who may call them, how a request becomes
// a command, and the helpers that check IDs in paths and bodies.

// Roles of the command routes. They are a coarse first filter; every
// handler checks again, finer (a teacher only for the classes they teach,
// a guardian only for their own children). A route lets through every
// role its handler may accept. Platform admins act in any school and
// services (sagas) act like school admins, so both pass wherever admins do.
var (
	staffOnly        = roles(commands.RoleSchoolAdmin, commands.RolePlatformAdmin, commands.RoleService)
	staffAndTeachers = roles(commands.RoleSchoolAdmin, commands.RolePlatformAdmin, commands.RoleService, commands.RoleTeacher)
	anyMember        = roles(commands.RoleSchoolAdmin, commands.RolePlatformAdmin, commands.RoleService, commands.RoleTeacher, commands.RoleGuardian)
)

// buildFunc turns a route's request (path parameters in c, metadata m,
// decoded body b) into its command. Errors are the caller's: a *Problem
// naming the field.
type buildFunc[B, C any] func(c *gin.Context, m commands.Meta, b B) (C, error)

// created is a route whose command creates a resource (201): build makes
// the command, h runs it. name is the command's metric and log label.
func created[B, C any](s *Server, name string, h commands.Handler[C], build buildFunc[B, C]) commandSpec {
	return create(name, runWith(s, name, h, build))
}

// updated is a route whose command changes an existing resource (200).
func updated[B, C any](s *Server, name string, h commands.Handler[C], build buildFunc[B, C]) commandSpec {
	return update(name, runWith(s, name, h, build))
}

// runWith wraps h with commands.Observed for its logs. No Observer: the
// route already counts every outcome in commands_total (s.command, which
// also sees bind failures and replays); a second count would double it.
func runWith[B, C any](s *Server, name string, h commands.Handler[C], build buildFunc[B, C]) CommandFunc[B] {
	h = commands.Observed(name, h, s.cfg.Logger, nil)
	return func(c *gin.Context, m commands.Meta, b B) (commands.Result, error) {
		cmd, err := build(c, m, b)
		if err != nil {
			return commands.Result{}, err
		}
		return h.Handle(c, m, cmd)
	}
}

// pathID is a path parameter named "...Id" in canonical form (lower-case,
// hyphenated), so "ABC..." and "abc..." name one stream. checkPathIDs has
// already refused the ones that are not UUIDs.
func pathID(c *gin.Context, name string) (string, error) {
	id, err := pathUUID(c, name)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// bodyID is an ID from a body field in canonical form. Blank stays blank:
// the command reports a missing required ID, or ignores an optional one.
// Anything else must be a UUID, or it is a 400 naming the field, rather
// than a lookup of a stream that cannot exist (a 404 that misleads).
func bodyID(field, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	id, err := uuidField(field, raw)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// required returns *p, or a 400 naming field when the body left it out:
// for numbers whose zero is a valid value (grade 0, grade level 0), which
// the command could not tell from "not given".
func required[T any](field string, p *T) (T, error) {
	if p == nil {
		var zero T
		return zero, invalidField(field, "is required")
	}
	return *p, nil
}

// invalidField is a 400 validation problem about one body field.
func invalidField(field, format string, args ...any) *Problem {
	msg := fmt.Sprintf(format, args...)
	return newProblem(http.StatusBadRequest, TypeValidation, field+": "+msg, FieldError{Field: field, Message: msg})
}

// decodeStrict decodes one JSON object of a body's list into dst with the
// same rules as the body (no unknown fields, right types), naming fields
// below prefix ("subjects[1].teacherId").
func decodeStrict(prefix string, raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		p := jsonProblem(err, int64(len(raw)))
		for i, fe := range p.Errors {
			field := prefix
			if fe.Field != "(body)" {
				field += "." + fe.Field
			}
			p.Errors[i].Field = field
			p.Detail = field + ": " + fe.Message
		}
		if len(p.Errors) == 0 {
			p.Errors = []FieldError{{Field: prefix, Message: p.Detail}}
			p.Detail = prefix + ": " + p.Detail
		}
		return p
	}
	return nil
}

// jsonKind names the JSON type of a raw value, for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// locateAt makes a 201 answer point Location at path instead of the
// collection's path plus the aggregate's ID, for commands whose new
// resource is not the aggregate: an assessment in a student's performance
// record, a register of a class's attendance. It wraps the writer because
// writeResult sets Location just before the status goes out.
func locateAt(c *gin.Context, path string) {
	c.Writer = &locationWriter{ResponseWriter: c.Writer, location: path}
}

type locationWriter struct {
	gin.ResponseWriter
	location string
}

func (w *locationWriter) WriteHeader(code int) {
	if code == http.StatusCreated {
		w.Header().Set("Location", w.location)
	}
	w.ResponseWriter.WriteHeader(code)
}
