package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/projections"
)

// The query side's shared parts: how a read route is registered and
// answered (paging, ETag and If-None-Match), read-your-writes is in
// consistency.go and who may read what in access.go.
//
// Adding a read route is one line in a queries_<model>.go file:
//
//	s.read(school, "/teachers/:teacherId", roles(...), reads("teachers"), s.getTeacher)
//
// plus its entry in openapi.json.

// Limits of query parameters.
const (
	maxCursorLen = 2048
	maxParamLen  = 200
)

// ReadFunc answers a read route: the value to send as JSON (200), or an
// error mapped to a problem like a command's (a *domain.Error of kind not
// found is a 404, a query's invalid input a 400 naming the parameter).
type ReadFunc func(c *gin.Context, v viewer) (any, error)

// readSpec names the projections a route reads, for ?after=.
type readSpec []string

// reads lists the projections (by Name) behind a read route.
func reads(names ...string) readSpec { return names }

// read registers a GET route answered from the read models: role and ID
// checks (s.query), then ?after= waited for (consistency.go), then fn,
// whose value is sent with a weak ETag; If-None-Match with that ETag gets
// 304 without a body.
func (s *Server) read(g *gin.RouterGroup, path string, allow roleSet, from readSpec, fn ReadFunc) {
	for _, name := range from {
		if s.channelsOf(name) == nil {
			s.routeErrs = append(s.routeErrs, fmt.Errorf("GET %s: reads the unknown projection %q", path, name))
			return
		}
	}
	s.query(g, http.MethodGet, path, allow, func(c *gin.Context) {
		if !s.awaitWrites(c, from) {
			return
		}
		v, err := fn(c, s.viewer(c))
		if err != nil {
			if !s.answerRebuilding(c, from, err) {
				abortWithError(c, err)
			}
			return
		}
		writeRead(c, http.StatusOK, v)
	})
}

// OutdatedChecker tells whether a projection's live tables are not yet
// the ones this release's queries read (*projections.Registry.Outdated):
// serve builds such a projection at start while the API already serves.
// Deps.Projections may implement it; without it a query that fails then
// is a 500.
type OutdatedChecker interface {
	Outdated(ctx context.Context, name string) (bool, error)
}

var _ OutdatedChecker = (*projections.Registry)(nil)

// rebuildRetryAfterSeconds is the Retry-After of a query whose read model
// is being rebuilt: a build takes seconds to minutes.
const rebuildRetryAfterSeconds = "5"

// answerRebuilding answers a read that failed with the server's fault
// (what would be a 500) with 503 and Retry-After when a read model behind
// the route is being rebuilt for this release: the new release's SQL
// meets the old release's tables until the rebuild swaps the new ones
// in. It reports whether it answered. Only a failed read asks, so it
// costs nothing otherwise.
func (s *Server) answerRebuilding(c *gin.Context, from readSpec, err error) bool {
	checker, ok := s.deps.Projections.(OutdatedChecker)
	if !ok || len(from) == 0 {
		return false
	}
	if p, _ := problemFor(err); p.Type != TypeInternal {
		return false // the caller's input, a timeout: as it is
	}
	for _, name := range from {
		outdated, cerr := checker.Outdated(c.Request.Context(), name)
		if cerr != nil {
			logger(c).WarnContext(c, "cannot tell whether a read model is being rebuilt", "projection", name, "err", cerr)
			return false
		}
		if outdated {
			logger(c).WarnContext(c, "query failed on a read model being rebuilt for this version",
				"projection", name, "err", err)
			c.Header("Retry-After", rebuildRetryAfterSeconds)
			writeProblem(c, newProblem(http.StatusServiceUnavailable, TypeReadModelRebuilding,
				fmt.Sprintf("the %s read model is being rebuilt for this version of the service: retry the same request shortly", name)))
			c.Abort()
			return true
		}
	}
	return false
}

// writeRead sends a read's answer with its ETag, or 304 when the client
// already has it. The ETag is weak (the same JSON, not the same bytes on
// the wire) and hashes the body, which is what this caller may see: the
// same URL read by someone else may answer differently (Vary).
func writeRead(c *gin.Context, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		abortWithError(c, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h := c.Writer.Header()
	h.Set("ETag", etag)
	// Caches may keep it but must ask again: read models move all the time.
	h.Set("Cache-Control", "private, no-cache")
	h.Add("Vary", "Authorization")
	if status == http.StatusOK && noneMatch(c.Request.Header.Values("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

// noneMatch reports whether If-None-Match names etag (RFC 9110 13.1.2:
// weak comparison, "*" matches any current representation).
func noneMatch(headers []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, h := range headers {
		for tag := range strings.SplitSeq(h, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
				return true
			}
		}
	}
	return false
}

// params reads a read route's query parameters, keeping the first error;
// done then also rejects parameters the route does not know (a typo such
// as ?classid= would otherwise silently return everything).
type params struct {
	c    *gin.Context
	err  error
	used map[string]bool
}

func newParams(c *gin.Context) *params {
	return &params{c: c, used: map[string]bool{"after": true}}
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// raw is the parameter's value ("" when absent); given once at most.
func (p *params) raw(name string) string {
	p.used[name] = true
	vals := p.c.QueryArray(name)
	switch {
	case len(vals) > 1:
		p.fail(badRequest(name, "give it once, not %d times", len(vals)))
		return ""
	case len(vals) == 0:
		return ""
	case len(vals[0]) > maxParamLen:
		p.fail(badRequest(name, "must be at most %d characters", maxParamLen))
		return ""
	}
	return vals[0]
}

// text is a free-form filter value.
func (p *params) text(name string) string { return strings.TrimSpace(p.raw(name)) }

// id is an optional UUID filter, canonical.
func (p *params) id(name string) string {
	raw := p.raw(name)
	if raw == "" {
		return ""
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		p.fail(badRequest(name, "must be a UUID like 123e4567-e89b-12d3-a456-426614174000, got %q", raw))
		return ""
	}
	return id.String()
}

// intIn is an optional whole number within [lo, hi].
func (p *params) intIn(name string, lo, hi int) *int {
	raw := p.raw(name)
	if raw == "" {
		return nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		p.fail(badRequest(name, "must be a whole number from %d to %d, got %q", lo, hi, raw))
		return nil
	}
	return &n
}

// date is an optional YYYY-MM-DD, returned as given once checked.
func (p *params) date(name string) string {
	raw := p.raw(name)
	if raw == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, raw); err != nil {
		p.fail(badRequest(name, "must be a date like 2026-03-02, got %q", raw))
		return ""
	}
	return raw
}

// dateRange is ?from= and ?to=, optional dates (YYYY-MM-DD, so they
// compare as strings); a range that ends before it starts is an error,
// not an empty answer.
func (p *params) dateRange() (from, to string) {
	from, to = p.date("from"), p.date("to")
	if from != "" && to != "" && to < from {
		p.fail(badRequest("to", "must not be before from (%s), got %q", from, to))
	}
	return from, to
}

// page is ?cursor= and ?limit=.
func (p *params) page() projections.PageParams {
	p.used["cursor"], p.used["limit"] = true, true
	pp, err := pageParams(p.c)
	if err != nil {
		p.fail(err)
	}
	return pp
}

// done returns the first error, or a 400 for a parameter nobody read.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.c.Request.URL.Query() {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		known := slices.Sorted(maps.Keys(p.used))
		return badRequest(unknown[0], "unknown query parameter; this route takes: %s", strings.Join(known, ", "))
	}
	return nil
}

// pageParams reads ?cursor= and ?limit=; the read models validate the
// cursor (it belongs to one list and sort order) and name it when wrong.
func pageParams(c *gin.Context) (projections.PageParams, error) {
	limit, err := queryUint(c, "limit", projections.DefaultPageLimit, 1, projections.MaxPageLimit)
	if err != nil {
		return projections.PageParams{}, err
	}
	cursor := c.Query("cursor")
	if len(cursor) > maxCursorLen {
		return projections.PageParams{}, badRequest("cursor", "is not a cursor of this list: too long")
	}
	return projections.PageParams{Cursor: cursor, Limit: int(limit)}, nil
}

// idParam is a path parameter checked to be a UUID (checkPathIDs), in the
// canonical lower-case form the read models store.
func idParam(c *gin.Context, name string) string {
	id, _ := pathID(c, name)
	return id
}
