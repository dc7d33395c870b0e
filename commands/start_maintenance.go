package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// StartMaintenance begins a scheduled maintenance window, not before its
// start time. The system_maintenance workflow does it when the window
// opens; services (with no school in their token) and platform admins may.
type StartMaintenance struct {
	MaintenanceID string
}

// StartMaintenanceHandler handles StartMaintenance.
type StartMaintenanceHandler struct{ repo *Repository }

func NewStartMaintenanceHandler(repo *Repository) StartMaintenanceHandler {
	return StartMaintenanceHandler{repo: repo}
}

func (h StartMaintenanceHandler) Handle(ctx context.Context, m Meta, cmd StartMaintenance) (Result, error) {
	return updateMaintenance(ctx, h.repo, m, true, cmd.MaintenanceID,
		func(mt *domain.Maintenance) error { return mt.Start(h.repo.Now()) })
}
