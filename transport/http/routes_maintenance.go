package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

// Platform maintenance windows: POST /v1/maintenance schedules one (the
// system_maintenance workflow announces it to every school's
// administrators, starts and ends it), POST
// /v1/maintenance/{maintenanceId}/cancel calls it off; GET lists them.
// While a read-only window is active, commands elsewhere answer 503
// (readonly.go); these routes keep working.

type scheduleMaintenanceBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	StartsAt    string `json:"startsAt"` // RFC 3339, checked here
	EndsAt      string `json:"endsAt"`
	ReadOnly    bool   `json:"readOnly"`
}

type cancelMaintenanceBody struct {
	Reason string `json:"reason"`
}

// rmMaintenance is the maintenance windows read model.
const rmMaintenance = "maintenance"

func (s *Server) maintenanceRoutes(v1 *gin.RouterGroup) {
	repo := s.deps.Commands
	platform := roles(commands.RolePlatformAdmin)
	s.command(v1, http.MethodPost, "/maintenance", platform,
		created(s, "ScheduleMaintenance", commands.NewScheduleMaintenanceHandler(repo), buildScheduleMaintenance))
	s.command(v1, http.MethodPost, "/maintenance/:maintenanceId/cancel", platform,
		updated(s, "CancelMaintenance", commands.NewCancelMaintenanceHandler(repo), buildCancelMaintenance))
	// School administrators read the windows too: they plan around them.
	admins := roles(commands.RolePlatformAdmin, commands.RoleSchoolAdmin)
	s.read(v1, "/maintenance", admins, reads(rmMaintenance), s.listMaintenance)
	s.read(v1, "/maintenance/:maintenanceId", admins, reads(rmMaintenance), s.getMaintenance)
}

func buildScheduleMaintenance(_ *gin.Context, m commands.Meta, b scheduleMaintenanceBody) (commands.ScheduleMaintenance, error) {
	starts, err := bodyTime("startsAt", b.StartsAt)
	if err != nil {
		return commands.ScheduleMaintenance{}, err
	}
	ends, err := bodyTime("endsAt", b.EndsAt)
	if err != nil {
		return commands.ScheduleMaintenance{}, err
	}
	return commands.ScheduleMaintenance{MaintenanceID: commands.NewID(m, "maintenance"), Title: b.Title,
		Description: b.Description, StartsAt: starts, EndsAt: ends, ReadOnly: b.ReadOnly}, nil
}

func buildCancelMaintenance(c *gin.Context, _ commands.Meta, b cancelMaintenanceBody) (commands.CancelMaintenance, error) {
	id, err := pathID(c, "maintenanceId")
	return commands.CancelMaintenance{MaintenanceID: id, Reason: b.Reason}, err
}

// bodyTime is a required RFC 3339 instant of a body field.
func bodyTime(field, raw string) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}, invalidField(field, "is required")
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, invalidField(field, "must be a date and time with its offset like 2026-03-02T18:00:00Z, got %q", raw)
	}
	return t.UTC(), nil
}

// listMaintenance: every window, latest start first (?state=).
func (s *Server) listMaintenance(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := projections.MaintenanceFilter{State: p.text("state"), PageParams: p.page()}
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.ListMaintenanceWindows(c, v.db, f)
}

func (s *Server) getMaintenance(c *gin.Context, v viewer) (any, error) {
	id := idParam(c, "maintenanceId")
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	return projections.GetMaintenanceWindow(c, v.db, id)
}
