package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestEndMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewEndMaintenanceHandler(f.repo)
	ctx := context.Background()
	start := f.now
	endCmd := func(id string) commands.EndMaintenance { return commands.EndMaintenance{MaintenanceID: id} }

	t.Run("by the workflow or a platform admin, once", func(t *testing.T) {
		expectWindowStepOnce(t, f, h, func() commands.ScheduleMaintenance {
			f.now = start
			w := f.startWindow()
			f.now = w.EndsAt
			return w
		}, endCmd, domain.ErrMaintenanceOver,
			domain.MaintenanceScheduledType, domain.MaintenanceStartedType, domain.MaintenanceEndedType)
	})

	t.Run("not one that has not started", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		_, err := h.Handle(ctx, maintenanceService(), commands.EndMaintenance{MaintenanceID: w.MaintenanceID})
		expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceNotStarted)
	})

	t.Run("forbidden", func(t *testing.T) {
		f.now = start
		w := f.startWindow()
		for name, m := range map[string]commands.Meta{
			"a school admin":              f.admin(),
			"a service bound to a school": f.service(),
			"a guardian":                  f.guardianAs("g"),
		} {
			t.Run(name, func(t *testing.T) {
				m.Actor.SchoolID = f.school
				_, err := h.Handle(ctx, m, commands.EndMaintenance{MaintenanceID: w.MaintenanceID})
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "maintenance-"+w.MaintenanceID, domain.MaintenanceScheduledType, domain.MaintenanceStartedType)
	})

	t.Run("rejected", func(t *testing.T) {
		expectWindowIDChecked(t, h, platformMeta(), endCmd)
	})
}
