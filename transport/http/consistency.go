package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Read your writes. A command answers {"stream","version",...}; a query
// given ?after=STREAM:VERSION (repeatable) answers only once the read
// models behind it have applied that stream up to that version, waiting
// at most ReadYourWritesTimeout, else 503 with Retry-After. Kafka orders
// events per stream only, so a stream version is an exact token where a
// global position would not be.
//
// A token is honoured only for a stream of the caller's school whose
// version exists in the store; for any other (another school's stream, a
// version never written) the query waits out the bound and answers 503,
// just as for a version not applied yet, so tokens reveal nothing about
// other schools. A read model that does not consume the token's events
// is not waited for: the write cannot change it.

// DefaultReadYourWritesTimeout bounds the wait for ?after=.
const DefaultReadYourWritesTimeout = 3 * time.Second

// maxAfterTokens bounds ?after= per request.
const maxAfterTokens = 20

// retryAfterSeconds is the Retry-After of a query whose writes are not
// visible yet: projections apply within milliseconds when healthy.
const retryAfterSeconds = "1"

// AppliedWaiter is the projections' read-your-writes wait
// (*projections.Registry): it returns nil once every named projection has
// applied every token's stream up to its version, and an error matching
// projections.ErrNotYet when timeout passes first.
type AppliedWaiter interface {
	WaitApplied(ctx context.Context, names []string, tokens []projections.StreamVersion, timeout time.Duration) error
}

// parseAfter reads ?after=STREAM:VERSION tokens.
func parseAfter(c *gin.Context) ([]projections.StreamVersion, error) {
	raws := c.QueryArray("after")
	if len(raws) > maxAfterTokens {
		return nil, badRequest("after", "at most %d tokens, got %d", maxAfterTokens, len(raws))
	}
	out := make([]projections.StreamVersion, 0, len(raws))
	for _, raw := range raws {
		t, err := projections.ParseStreamVersion(raw)
		if err != nil {
			return nil, badRequest("after", "%s: give the stream and version a command answered", strings.TrimPrefix(err.Error(), "projections: "))
		}
		if len(t.Stream) > maxStreamNameLen {
			return nil, badRequest("after", "a stream name is at most %d characters", maxStreamNameLen)
		}
		out = append(out, t)
	}
	return out, nil
}

// awaitWrites waits for the request's ?after= tokens in the projections
// named by from; false when it answered the request (400, 503).
func (s *Server) awaitWrites(c *gin.Context, from readSpec) bool {
	tokens, err := parseAfter(c)
	if err != nil {
		abortWithError(c, err)
		return false
	}
	if len(tokens) == 0 {
		return true
	}
	// The request's context, not gin's: gin reuses its Context for the
	// next request, and the timer's goroutine may still touch the parent
	// after the handler returned.
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.ReadYourWritesTimeout)
	defer cancel()
	err = s.waitTokens(ctx, c.GetString(ctxSchoolID), from, tokens)
	switch {
	case err == nil:
		return true
	case errors.Is(err, projections.ErrNotYet), errors.Is(err, errForeignToken),
		errors.Is(err, context.DeadlineExceeded) && c.Request.Context().Err() == nil:
		if errors.Is(err, errForeignToken) {
			<-ctx.Done() // the same wait as a version not applied yet
		}
		c.Header("Retry-After", retryAfterSeconds)
		abortWithError(c, newProblem(http.StatusServiceUnavailable, TypeNotYetApplied,
			"the read model has not caught up with your write yet: retry the same request shortly",
			FieldError{Field: "after", Message: "not applied yet"}))
	default:
		abortWithError(c, err)
	}
	return false
}

var errForeignToken = errors.New("httpapi: token of no stream version of this school")

// waitTokens checks each token against the store (a version written, of
// this school), then waits for the projections.
func (s *Server) waitTokens(ctx context.Context, school string, from readSpec, tokens []projections.StreamVersion) error {
	for _, t := range tokens {
		recs, err := s.deps.Store.ReadStream(ctx, t.Stream, t.Version-1, 1)
		if err != nil {
			return err
		}
		// Outside a school (/v1/schools, /v1/system: platform admins
		// only) any school's stream is the caller's.
		if len(recs) == 0 || recs[0].Version != t.Version || (school != "" && recs[0].Metadata.SchoolID != school) {
			return errForeignToken
		}
	}
	if s.deps.Projections == nil {
		return errors.New("httpapi: no projections to wait for (Deps.Projections)")
	}
	// WaitApplied narrows each projection's wait to the events it consumes.
	return s.deps.Projections.WaitApplied(ctx, from, tokens, time.Until(deadlineOf(ctx)))
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// channelsOf is the channels a projection consumes (nil if unknown).
func (s *Server) channelsOf(name string) []domain.Channel {
	for _, p := range s.readModels {
		if p.Name() == name {
			return p.Channels()
		}
	}
	return nil
}
