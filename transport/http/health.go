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

// readyz says whether the service can do its work: the database answers.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.deps.Pool.Ping(ctx); err != nil {
		logger(c).WarnContext(c, "not ready: database ping failed", "err", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the database is not reachable"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
