package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// EndMaintenance closes a started maintenance window, at its end time or
// earlier. The system_maintenance workflow does it when the window's time
// is up; services (with no school in their token) and platform admins may.
type EndMaintenance struct {
	MaintenanceID string
}

// EndMaintenanceHandler handles EndMaintenance.
type EndMaintenanceHandler struct{ repo *Repository }

func NewEndMaintenanceHandler(repo *Repository) EndMaintenanceHandler {
	return EndMaintenanceHandler{repo: repo}
}

func (h EndMaintenanceHandler) Handle(ctx context.Context, m Meta, cmd EndMaintenance) (Result, error) {
	return updateMaintenance(ctx, h.repo, m, true, cmd.MaintenanceID,
		func(mt *domain.Maintenance) error { return mt.End(h.repo.Now()) })
}
