package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout bounds the database ping of /readyz: a probe must answer
// quickly even when the database hangs.
const readyTimeout = 2 * time.Second

// healthz says the process is alive: it answers, so it is.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// pinger is an event store that can say whether its server answers
// (KurrentDB); a store in the service's own database has nothing more to
// check than the database.
type pinger interface {
	Ping(ctx context.Context) error
}

// readyz says whether the service can do its work: the database answers,
// and so does the event store when it is a server of its own.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.deps.Pool.Ping(ctx); err != nil {
		logger(c).WarnContext(c, "not ready: database ping failed", "err", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the database is not reachable"))
		return
	}
	if p, ok := s.deps.Store.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			logger(c).WarnContext(c, "not ready: event store ping failed", "err", err)
			writeProblem(c, newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the event store is not reachable"))
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
