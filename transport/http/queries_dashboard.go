package httpapi

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

const (
	rmDashboard  = "dashboard"
	rmMonitoring = "monitoring"
)

// dashboardQueries: the school dashboard, event rates, and the system's
// monitoring (platform admins: it spans every school).
func (s *Server) dashboardQueries(v1, school *gin.RouterGroup) {
	platform := roles(commands.RolePlatformAdmin)
	s.read(school, "/dashboard", readAdmins, reads(rmDashboard, rmPerformance, rmAttendance), s.dashboard)
	s.read(school, "/monitoring/events", readAdmins, reads(rmMonitoring), s.schoolEventRates)
	s.read(v1, "/system/monitoring", platform, reads(), s.systemStatus)
	s.read(v1, "/system/monitoring/events", platform, reads(rmMonitoring), s.systemEventRates)
}

// maxDashboardWeeks bounds ?weeks= (the read model's own limit).
const maxDashboardWeeks = 104

func (s *Server) dashboard(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	weeks := p.intIn("weeks", 1, maxDashboardWeeks)
	if err := p.done(); err != nil {
		return nil, err
	}
	n := 0
	if weeks != nil {
		n = *weeks
	}
	return projections.GetDashboard(c, v.db, v.school, n)
}

// eventRates is events per channel per minute.
type eventRates struct {
	Rates []projections.EventRate `json:"rates"`
}

func eventRateFilter(p *params) projections.EventRateFilter {
	f := projections.EventRateFilter{Channel: p.text("channel")}
	f.From, f.To = p.timeRange()
	return f
}

func (s *Server) schoolEventRates(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := eventRateFilter(p)
	if err := p.done(); err != nil {
		return nil, err
	}
	rates, err := projections.EventRates(c, v.db, v.school, f)
	return eventRates{Rates: nonNil(rates)}, err
}

func (s *Server) systemEventRates(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := eventRateFilter(p)
	if err := p.done(); err != nil {
		return nil, err
	}
	rates, err := projections.SystemEventRates(c, v.db, f)
	return eventRates{Rates: nonNil(rates)}, err
}

// systemStatus: the store's head, the relay's and the read models'
// positions and lag, the dead letters waiting.
func (s *Server) systemStatus(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	return projections.GetSystemStatus(c, v.db, projections.SystemSources{
		Head:        s.deps.Store.Head,
		DeadLetters: s.deps.DeadLetters,
		ConsumerLag: s.deps.ConsumerLag,
		Backlog:     s.deps.Backlog,
	})
}

// timeRange is ?from= and ?to=, optional instants; as dateRange, one
// that ends before it starts is an error.
func (p *params) timeRange() (from, to time.Time) {
	from, to = p.timestamp("from"), p.timestamp("to")
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		p.fail(badRequest("to", "must not be before from (%s), got %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	return from, to
}

// timestamp is an optional RFC 3339 instant.
func (p *params) timestamp(name string) time.Time {
	raw := p.raw(name)
	if raw == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		p.fail(badRequest(name, "must be an RFC 3339 time like 2026-03-04T09:00:00Z, got %q", raw))
		return time.Time{}
	}
	return t
}
