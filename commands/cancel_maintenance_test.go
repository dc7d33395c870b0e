package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestCancelMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewCancelMaintenanceHandler(f.repo)
	ctx := context.Background()
	start := f.now
	cancel := func(id string) commands.CancelMaintenance {
		return commands.CancelMaintenance{MaintenanceID: id, Reason: "postponed to next week"}
	}

	t.Run("a scheduled window, once", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		expectOnce[commands.CancelMaintenance](t, f, h, platformMeta(), cancel(w.MaintenanceID),
			domain.MaintenanceScheduledType, domain.MaintenanceCancelledType)
		_, err := h.Handle(ctx, platformMeta(), cancel(w.MaintenanceID))
		expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceOver)
		_, err = commands.NewStartMaintenanceHandler(f.repo).Handle(ctx, maintenanceService(), commands.StartMaintenance{MaintenanceID: w.MaintenanceID})
		expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceOver)
	})

	t.Run("a started window", func(t *testing.T) {
		f.now = start
		w := f.startWindow()
		if _, err := h.Handle(ctx, platformMeta(), cancel(w.MaintenanceID)); err != nil {
			t.Fatal(err)
		}
		f.expectEvents(t, "maintenance-"+w.MaintenanceID, domain.MaintenanceScheduledType, domain.MaintenanceStartedType,
			domain.MaintenanceCancelledType)
	})

	t.Run("not an ended window", func(t *testing.T) {
		f.now = start
		w := f.startWindow()
		f.now = w.EndsAt
		_, err := commands.NewEndMaintenanceHandler(f.repo).Handle(ctx, maintenanceService(), commands.EndMaintenance{MaintenanceID: w.MaintenanceID})
		f.setupOK(err)
		_, err = h.Handle(ctx, platformMeta(), cancel(w.MaintenanceID))
		expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceOver)
	})

	t.Run("forbidden", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		for name, m := range map[string]commands.Meta{
			"a school admin": f.admin(),
			"a service":      maintenanceService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, cancel(w.MaintenanceID))
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "maintenance-"+w.MaintenanceID, domain.MaintenanceScheduledType)
	})

	t.Run("rejected", func(t *testing.T) {
		f.now = start
		w := f.scheduleWindow()
		_, err := h.Handle(ctx, platformMeta(), commands.CancelMaintenance{MaintenanceID: w.MaintenanceID})
		expectErr(t, err, domain.KindInvalid, "reason", nil)
		expectWindowIDChecked(t, h, platformMeta(), cancel)
	})
}
