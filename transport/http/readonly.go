package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/projections"
)

// Read-only maintenance windows. While a read-only window is active
// (maintenance.started.v1 applied to the maintenance read model, no
// maintenance.ended.v1 yet), every command under /v1 answers 503 with
// Retry-After set to the seconds left until the window's declared end,
// before anything else looks at it: nothing is appended, no
// Idempotency-Key is taken, so the client simply sends it again later and
// nothing is lost. Reads (GET, HEAD) keep working, and so do the
// maintenance routes themselves (/v1/maintenance...), so a window can be
// cancelled while it runs.
//
// The window is read from the read model at most once per
// readOnlyCacheTTL, so a window starts or ends for the API within about a
// second of its event being applied. A window is never read-only past its
// declared end: if maintenance.ended.v1 is late (the workflow issuing it
// is down), commands are accepted again from endsAt on. If the read model
// cannot be read, commands are let through (failing open): refusing them
// would make a database hiccup look like maintenance.

// readOnlyCacheTTL is how long the active window read is reused.
const readOnlyCacheTTL = time.Second

// maintenancePath is the prefix of the routes exempt from the window.
const maintenancePath = "/v1/maintenance"

// readOnlyCache holds the last read of the active read-only window.
type readOnlyCache struct {
	mu      sync.Mutex
	fetched time.Time // real time of the read (not the API's clock)
	window  projections.ReadOnlyWindow
	active  bool
}

// readOnlyGuard is the /v1 middleware refusing commands during an active
// read-only maintenance window.
func (s *Server) readOnlyGuard() gin.HandlerFunc {
	cache := &readOnlyCache{}
	return func(c *gin.Context) {
		if !isCommandRequest(c.Request) {
			return
		}
		w, active := cache.get(c, s)
		if !active {
			return
		}
		now := s.cfg.Now()
		left := w.EndsAt.Sub(now)
		if left <= 0 {
			return
		}
		secs := max(int(math.Ceil(left.Seconds())), 1)
		c.Header("Retry-After", strconv.Itoa(secs))
		abortWithError(c, newProblem(http.StatusServiceUnavailable, TypeUnavailable, fmt.Sprintf(
			"the platform is read-only for maintenance (%q, window %s) until %s: commands are refused and nothing was changed; reads keep working; send the request again in %d s",
			w.Title, w.MaintenanceID, w.EndsAt.UTC().Format(time.RFC3339), secs)))
	}
}

// isCommandRequest: a request that may change something (not GET, HEAD
// or OPTIONS) outside the maintenance routes.
func isCommandRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	p := r.URL.Path
	return p != maintenancePath && !strings.HasPrefix(p, maintenancePath+"/")
}

// get returns the active read-only window, read again when the last read
// is older than readOnlyCacheTTL.
func (rc *readOnlyCache) get(c *gin.Context, s *Server) (projections.ReadOnlyWindow, bool) {
	rc.mu.Lock()
	if !rc.fetched.IsZero() && time.Since(rc.fetched) < readOnlyCacheTTL {
		w, active := rc.window, rc.active
		rc.mu.Unlock()
		return w, active
	}
	rc.mu.Unlock()

	w, active, err := projections.ActiveReadOnlyWindow(c, s.deps.Pool)
	if err != nil {
		logger(c).WarnContext(c, "cannot read the maintenance windows; commands are let through", "err", err)
		w, active = projections.ReadOnlyWindow{}, false
	}
	rc.mu.Lock()
	rc.fetched, rc.window, rc.active = time.Now(), w, active
	rc.mu.Unlock()
	return w, active
}
