package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestStartMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewStartMaintenanceHandler(f.repo)
	ctx := context.Background()
	start := f.now

	t.Run("by the workflow or a platform admin, at its start time, once", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{"a service": maintenanceService(), "a platform admin": platformMeta()} {
			t.Run(name, func(t *testing.T) {
				f.now = start
				w := f.scheduleWindow()
				f.now = w.StartsAt
				res := expectOnce[commands.StartMaintenance](t, f, h, m, commands.StartMaintenance{MaintenanceID: w.MaintenanceID},
					domain.MaintenanceScheduledType, domain.MaintenanceStartedType)
				if res.Version != 2 {
					t.Fatalf("result = %+v", res)
				}
				m.CommandID = uuid.NewString() // another command, not a redelivery
				_, err := h.Handle(ctx, m, commands.StartMaintenance{MaintenanceID: w.MaintenanceID})
				expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceStarted)
			})
		}
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
		_, err := h.Handle(ctx, maintenanceService(), commands.StartMaintenance{})
		expectErr(t, err, domain.KindInvalid, "maintenanceId", nil)
		_, err = h.Handle(ctx, maintenanceService(), commands.StartMaintenance{MaintenanceID: uuid.NewString()})
		expectErr(t, err, domain.KindNotFound, "", domain.ErrMaintenanceNotFound)
	})
}
