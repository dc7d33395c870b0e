package commands

import (
	"context"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// ScheduleMaintenance plans a platform-wide maintenance window: it starts
// in the future and lasts at most domain.MaxMaintenanceWindow; ReadOnly
// windows make the API refuse commands while they are on. Only platform
// admins may. The window belongs to no school: its events name the
// reserved tenant domain.PlatformSchoolID, whatever school m names.
type ScheduleMaintenance struct {
	MaintenanceID string // minted by the caller (NewID)
	Title         string
	Description   string // optional
	StartsAt      time.Time
	EndsAt        time.Time
	ReadOnly      bool
}

// ScheduleMaintenanceHandler handles ScheduleMaintenance.
type ScheduleMaintenanceHandler struct{ repo *Repository }

func NewScheduleMaintenanceHandler(repo *Repository) ScheduleMaintenanceHandler {
	return ScheduleMaintenanceHandler{repo: repo}
}

func (h ScheduleMaintenanceHandler) Handle(ctx context.Context, m Meta, cmd ScheduleMaintenance) (Result, error) {
	if err := allowPlatform(m, false); err != nil {
		return Result{}, err
	}
	m.SchoolID = domain.PlatformSchoolID
	in := domain.MaintenanceInput{Title: cmd.Title, Description: cmd.Description, StartsAt: cmd.StartsAt, EndsAt: cmd.EndsAt,
		ReadOnly: cmd.ReadOnly, ScheduledBy: m.Actor.ID}
	return Update(ctx, h.repo, m, func() *domain.Maintenance { return domain.NewMaintenance(cmd.MaintenanceID) },
		func(mt *domain.Maintenance) error { return mt.Schedule(in, h.repo.Now()) })
}
