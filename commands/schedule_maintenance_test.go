package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// Maintenance windows are platform-wide: the callers name no school.

func platformMeta() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(), Actor: platformAdmin()}
}

// maintenanceService is the saga runtime's service identity: no school.
func maintenanceService() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(),
		Actor: commands.Actor{ID: "saga:system_maintenance", Roles: []commands.Role{commands.RoleService}}}
}

// window is a read-only window of two hours, starting a day after the
// fixture's now.
func (f *fixture) window() commands.ScheduleMaintenance {
	return commands.ScheduleMaintenance{MaintenanceID: uuid.NewString(), Title: "Database upgrade",
		Description: "PostgreSQL 16", StartsAt: f.now.Add(24 * time.Hour), EndsAt: f.now.Add(26 * time.Hour), ReadOnly: true}
}

// scheduleWindow has a platform admin schedule a window and returns it.
func (f *fixture) scheduleWindow() commands.ScheduleMaintenance {
	f.t.Helper()
	w := f.window()
	_, err := commands.NewScheduleMaintenanceHandler(f.repo).Handle(context.Background(), platformMeta(), w)
	f.setupOK(err)
	return w
}

// startWindow schedules a window and starts it at its start time; it
// leaves the fixture's clock there.
func (f *fixture) startWindow() commands.ScheduleMaintenance {
	f.t.Helper()
	w := f.scheduleWindow()
	f.now = w.StartsAt
	_, err := commands.NewStartMaintenanceHandler(f.repo).Handle(context.Background(), maintenanceService(),
		commands.StartMaintenance{MaintenanceID: w.MaintenanceID})
	f.setupOK(err)
	return w
}

// expectWindowStepOnce has the workflow (a service) and a platform admin
// each take a window through one step: prepare readies a window for it,
// the step appends its event once (a redelivery appends nothing), the
// stream then holds want, and another command for the same step is
// refused with again.
func expectWindowStepOnce[C any](t *testing.T, f *fixture, h commands.Handler[C], prepare func() commands.ScheduleMaintenance,
	cmd func(id string) C, again error, want ...string) {
	t.Helper()
	for name, m := range map[string]commands.Meta{"a service": maintenanceService(), "a platform admin": platformMeta()} {
		t.Run(name, func(t *testing.T) {
			w := prepare()
			res := expectOnce(t, f, h, m, cmd(w.MaintenanceID), want...)
			if res.Version != uint64(len(want)) {
				t.Fatalf("result = %+v", res)
			}
			m.CommandID = uuid.NewString() // another command, not a redelivery
			_, err := h.Handle(context.Background(), m, cmd(w.MaintenanceID))
			expectErr(t, err, domain.KindConflict, "", again)
		})
	}
}

// expectWindowIDChecked checks that a command on a window refuses a blank
// window ID and the ID of a window never scheduled.
func expectWindowIDChecked[C any](t *testing.T, h commands.Handler[C], m commands.Meta, cmd func(id string) C) {
	t.Helper()
	for _, blank := range []string{"", " "} {
		_, err := h.Handle(context.Background(), m, cmd(blank))
		expectErr(t, err, domain.KindInvalid, "maintenanceId", nil)
	}
	_, err := h.Handle(context.Background(), m, cmd(uuid.NewString()))
	expectErr(t, err, domain.KindNotFound, "", domain.ErrMaintenanceNotFound)
}

func TestScheduleMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := commands.NewScheduleMaintenanceHandler(f.repo)
	ctx := context.Background()

	t.Run("by a platform admin, in the platform tenant", func(t *testing.T) {
		w := f.window()
		m := platformMeta()
		m.SchoolID = f.school // a school named by mistake does not own the window
		res := expectOnce[commands.ScheduleMaintenance](t, f, h, m, w, domain.MaintenanceScheduledType)
		if res.ID != w.MaintenanceID || res.Stream != "maintenance-"+w.MaintenanceID || res.Version != 1 {
			t.Fatalf("result = %+v", res)
		}
		recs, err := f.store.ReadStream(ctx, res.Stream, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Metadata.SchoolID != domain.PlatformSchoolID || recs[0].Metadata.ActorRole != "platform_admin" {
			t.Fatalf("metadata: %+v", recs[0].Metadata)
		}
		e, err := domain.DecodeEvent(recs[0].Type, recs[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.(domain.MaintenanceScheduled); got.SchoolID != domain.PlatformSchoolID || !got.ReadOnly ||
			!got.StartsAt.Equal(w.StartsAt) || got.ScheduledBy != platformAdmin().ID {
			t.Fatalf("event: %+v", got)
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a school admin": f.admin(),
			"a service":      maintenanceService(),
			"a teacher":      f.as("t", commands.RoleTeacher),
		} {
			t.Run(name, func(t *testing.T) {
				w := f.window()
				_, err := h.Handle(ctx, m, w)
				expectForbidden(t, err)
				f.expectEvents(t, "maintenance-"+w.MaintenanceID)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		scheduled := f.scheduleWindow()
		for _, tt := range []struct {
			name     string
			edit     func(*commands.ScheduleMaintenance)
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"no ID", func(c *commands.ScheduleMaintenance) { c.MaintenanceID = "" }, domain.KindInvalid, "maintenanceId", nil},
			{"no title", func(c *commands.ScheduleMaintenance) { c.Title = "" }, domain.KindInvalid, "title", nil},
			{"starting in the past", func(c *commands.ScheduleMaintenance) { c.StartsAt = f.now.Add(-time.Minute) }, domain.KindInvalid, "startsAt", nil},
			{"ending before it starts", func(c *commands.ScheduleMaintenance) { c.EndsAt = c.StartsAt.Add(-time.Hour) }, domain.KindInvalid, "endsAt", nil},
			{"longer than a day", func(c *commands.ScheduleMaintenance) { c.EndsAt = c.StartsAt.Add(25 * time.Hour) }, domain.KindInvalid, "endsAt", nil},
			{"an ID taken", func(c *commands.ScheduleMaintenance) { c.MaintenanceID = scheduled.MaintenanceID }, domain.KindConflict, "", domain.ErrMaintenanceExists},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := f.window()
				tt.edit(&w)
				_, err := h.Handle(ctx, platformMeta(), w)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
	})
}
