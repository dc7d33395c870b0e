package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestStartMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewStartMaintenanceHandler(f.repo)
	ctx := context.Background()
	start := f.now
	startCmd := func(id string) commands.StartMaintenance { return commands.StartMaintenance{MaintenanceID: id} }

	t.Run("by the workflow or a platform admin, at its start time, once", func(t *testing.T) {
		expectWindowStepOnce(t, f, h, func() commands.ScheduleMaintenance {
			f.now = start
			w := f.scheduleWindow()
			f.now = w.StartsAt
			return w
		}, startCmd, domain.ErrMaintenanceStarted, domain.MaintenanceScheduledType, domain.MaintenanceStartedType)
	})

	t.Run("not before its start time", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		f.now = w.StartsAt.Add(-time.Second)
		_, err := h.Handle(ctx, maintenanceService(), commands.StartMaintenance{MaintenanceID: w.MaintenanceID})
		expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceNotDue)
	})

	t.Run("forbidden", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		f.now = w.StartsAt
		for name, m := range map[string]commands.Meta{
			"a school admin":              f.admin(),
			"a service bound to a school": f.service(),
		} {
			t.Run(name, func(t *testing.T) {
				m.Actor.SchoolID = f.school
				_, err := h.Handle(ctx, m, commands.StartMaintenance{MaintenanceID: w.MaintenanceID})
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "maintenance-"+w.MaintenanceID, domain.MaintenanceScheduledType)
	})

	t.Run("rejected", func(t *testing.T) {
		expectWindowIDChecked(t, h, maintenanceService(), startCmd)
	})
}
