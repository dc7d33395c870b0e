package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestEndMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewEndMaintenanceHandler(f.repo)
	ctx := context.Background()
	start := f.now

	t.Run("by the workflow or a platform admin, once", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{"a service": maintenanceService(), "a platform admin": platformMeta()} {
			t.Run(name, func(t *testing.T) {
				f.now = start
				w := f.startWindow()
				f.now = w.EndsAt
				res := expectOnce[commands.EndMaintenance](t, f, h, m, commands.EndMaintenance{MaintenanceID: w.MaintenanceID},
					domain.MaintenanceScheduledType, domain.MaintenanceStartedType, domain.MaintenanceEndedType)
				if res.Version != 3 {
					t.Fatalf("result = %+v", res)
				}
				m.CommandID = uuid.NewString() // another command, not a redelivery
				_, err := h.Handle(ctx, m, commands.EndMaintenance{MaintenanceID: w.MaintenanceID})
				expectErr(t, err, domain.KindConflict, "", domain.ErrMaintenanceOver)
			})
		}
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
		_, err := h.Handle(ctx, platformMeta(), commands.EndMaintenance{MaintenanceID: " "})
		expectErr(t, err, domain.KindInvalid, "maintenanceId", nil)
		_, err = h.Handle(ctx, platformMeta(), commands.EndMaintenance{MaintenanceID: uuid.NewString()})
		expectErr(t, err, domain.KindNotFound, "", domain.ErrMaintenanceNotFound)
	})
}
