package commands

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
)

// CancelMaintenance calls off a maintenance window before it ends (a
// started one stops at once), with the reason. Only platform admins may.
type CancelMaintenance struct {
	MaintenanceID string
	Reason        string
}

// CancelMaintenanceHandler handles CancelMaintenance.
type CancelMaintenanceHandler struct{ repo *Repository }

func NewCancelMaintenanceHandler(repo *Repository) CancelMaintenanceHandler {
	return CancelMaintenanceHandler{repo: repo}
}

func (h CancelMaintenanceHandler) Handle(ctx context.Context, m Meta, cmd CancelMaintenance) (Result, error) {
	return updateMaintenance(ctx, h.repo, m, false, cmd.MaintenanceID,
		func(mt *domain.Maintenance) error { return mt.Cancel(cmd.Reason, m.Actor.ID, h.repo.Now()) })
}
