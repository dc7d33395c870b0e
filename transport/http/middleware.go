package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// Headers the API reads and writes.
const (
	HeaderRequestID     = "X-Request-ID"
	HeaderCorrelationID = "X-Correlation-ID"
)

// gin context keys.
const (
	ctxRequestID     = "httpapi.requestID"
	ctxCorrelationID = "httpapi.correlationID"
	ctxLogger        = "httpapi.logger"
	ctxActor         = "httpapi.actor"
)

// maxIDLen bounds request and correlation IDs taken from callers: they go
// into logs and every event's metadata.
const maxIDLen = 128

// saneID reports whether a caller-supplied ID may be used as is: short,
// and only characters that need no escaping in logs or headers.
func saneID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9',
			b == '-', b == '_', b == '.', b == ':':
		default:
			return false
		}
	}
	return true
}

// requestIDs takes X-Request-ID from the caller if it is sane, else makes
// one; X-Correlation-ID, which ties together everything one user action
// caused, defaults to the request ID. Both are echoed and go into the
// request's logger.
func (s *Server) requestIDs(c *gin.Context) {
	rid := c.GetHeader(HeaderRequestID)
	if !saneID(rid) {
		rid = uuid.NewString()
	}
	cid := c.GetHeader(HeaderCorrelationID)
	if !saneID(cid) {
		cid = rid
	}
	c.Set(ctxRequestID, rid)
	c.Set(ctxCorrelationID, cid)
	c.Set(ctxLogger, s.cfg.Logger.With("request_id", rid, "correlation_id", cid))
	c.Header(HeaderRequestID, rid)
	c.Header(HeaderCorrelationID, cid)
	c.Next()
}

// logger is the request's logger, carrying its request and correlation
// IDs (and the actor once authenticated).
func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Value(ctxLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// accessLog writes one line per request once it is answered.
func (s *Server) accessLog(c *gin.Context) {
	start := s.cfg.Now()
	c.Next()
	status := c.Writer.Status()
	level := slog.LevelInfo
	switch {
	case retryLater(c, status):
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	}
	logger(c).LogAttrs(c, level, "http request",
		slog.String("method", c.Request.Method),
		slog.String("route", routeOf(c)),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.Duration("duration", s.cfg.Now().Sub(start)),
		slog.String("client_ip", c.ClientIP()),
	)
}

// retryLater reports whether the answer is a 503 that tells the client
// when to retry (Retry-After): "not now" by design — a read model not
// caught up with a write yet, one being rebuilt, a full live feed,
// shutdown, maintenance — not a failure. A 503 without it (the database
// unreachable, a request out of time) is one.
func retryLater(c *gin.Context, status int) bool {
	return status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") != ""
}

// recovery turns a panic in a handler into a 500 problem: one bad request
// must never take the process down.
func recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler { // the handler asked to drop the connection
			panic(rec)
		}
		logger(c).ErrorContext(c, "panic in handler", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			// Too late for a problem: the status is out. Drop the connection
			// so the client sees the response is broken, not truncated-ok.
			panic(http.ErrAbortHandler)
		}
		abortWithError(c, fmt.Errorf("panic: %v", rec))
	}()
	c.Next()
}

// bodyLimit caps the request body. A declared length over the limit is
// refused at once; otherwise reading past it fails with
// *http.MaxBytesError, which the binder turns into a 413.
func (s *Server) bodyLimit(c *gin.Context) {
	if c.Request.ContentLength > s.cfg.BodyLimit {
		writeProblem(c, tooLarge(s.cfg.BodyLimit))
		c.Abort()
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.BodyLimit)
	}
	c.Next()
}

// routeOf is the route template of the request ("/v1/schools/:schoolId"),
// never the raw path, so metrics and logs stay bounded.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

func (s *Server) noRoute(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no route %s %s", c.Request.Method, c.Request.URL.Path)))
}

func (s *Server) noMethod(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusMethodNotAllowed, TypeBlank,
		fmt.Sprintf("%s is not allowed here; allowed: %s", c.Request.Method, c.Writer.Header().Get("Allow"))))
}
