package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Paging of the audit read.
const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
	maxStreamNameLen  = 256
)

func (s *Server) auditRoutes(school *gin.RouterGroup) {
	s.query(school, http.MethodGet, "/streams/:stream/events",
		roles(commands.RoleSchoolAdmin, commands.RolePlatformAdmin), s.streamEvents)
}

// auditEvent is one stored event as the audit read shows it.
type auditEvent struct {
	ID         string              `json:"id"`
	Stream     string              `json:"stream"`
	Version    uint64              `json:"version"`
	Position   uint64              `json:"position"`
	Type       string              `json:"type"`
	Data       json.RawMessage     `json:"data"`
	Metadata   eventstore.Metadata `json:"metadata"`
	RecordedAt time.Time           `json:"recordedAt"`
}

type auditPage struct {
	Events []auditEvent `json:"events"`
	// Next is the `after` of the following page; null on the last page.
	Next *uint64 `json:"next"`
}

// streamEvents reads one stream's events, oldest first. A stream of
// another school reads as not found, like a missing one, so callers
// cannot probe which streams exist elsewhere.
func (s *Server) streamEvents(c *gin.Context) {
	school := c.GetString(ctxSchoolID)
	stream := c.Param("stream")
	if len(stream) > maxStreamNameLen {
		abortWithError(c, badRequest("stream", "must be at most %d characters", maxStreamNameLen))
		return
	}
	after, err := queryUint(c, "after", 0, 0, 1<<63-1)
	if err != nil {
		abortWithError(c, err)
		return
	}
	limit, err := queryUint(c, "limit", auditDefaultLimit, 1, auditMaxLimit)
	if err != nil {
		abortWithError(c, err)
		return
	}
	// One more than asked, to know whether there is a next page.
	recs, err := s.deps.Store.ReadStream(c, stream, after, int(limit)+1)
	if err != nil {
		abortWithError(c, err)
		return
	}
	if len(recs) == 0 && after > 0 {
		// Past the end: fine for one's own stream, not found otherwise.
		if recs, err = s.deps.Store.ReadStream(c, stream, 0, 1); err != nil {
			abortWithError(c, err)
			return
		}
		if len(recs) == 0 || recs[0].Metadata.SchoolID != school {
			streamNotFound(c, stream)
			return
		}
		c.JSON(http.StatusOK, auditPage{Events: []auditEvent{}})
		return
	}
	if len(recs) == 0 {
		streamNotFound(c, stream)
		return
	}
	page := auditPage{Events: make([]auditEvent, 0, len(recs))}
	if uint64(len(recs)) > limit {
		recs = recs[:limit]
		next := recs[len(recs)-1].Version
		page.Next = &next
	}
	for _, r := range recs {
		if r.Metadata.SchoolID != school {
			streamNotFound(c, stream)
			return
		}
		data := json.RawMessage(r.Data)
		if !json.Valid(data) { // stored by someone else's adapter: keep the response valid
			data, _ = json.Marshal(string(r.Data))
		}
		page.Events = append(page.Events, auditEvent{
			ID: r.ID.String(), Stream: r.StreamID, Version: r.Version, Position: r.Position,
			Type: r.Type, Data: data, Metadata: r.Metadata, RecordedAt: r.RecordedAt.UTC(),
		})
	}
	c.JSON(http.StatusOK, page)
}

func streamNotFound(c *gin.Context, stream string) {
	abortWithError(c, newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no stream %q in this school", stream)))
}
