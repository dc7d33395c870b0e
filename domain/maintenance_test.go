package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

const mtID = "mt-1"

var (
	mtStarts = acNow.Add(48 * time.Hour)
	mtEnds   = mtStarts.Add(2 * time.Hour)
)

func mtInput() domain.MaintenanceInput {
	return domain.MaintenanceInput{
		Title:       " Database upgrade ",
		Description: " PostgreSQL 16; the API is read-only meanwhile ",
		StartsAt:    mtStarts,
		EndsAt:      mtEnds,
		ReadOnly:    true,
		ScheduledBy: "platform-1",
	}
}

func mtScheduled() domain.MaintenanceScheduled {
	return domain.MaintenanceScheduled{
		MaintenanceID: mtID, SchoolID: domain.PlatformSchoolID, Title: "Database upgrade",
		Description: "PostgreSQL 16; the API is read-only meanwhile", StartsAt: mtStarts, EndsAt: mtEnds,
		ReadOnly: true, ScheduledBy: "platform-1", At: acNow,
	}
}

func mtStarted(at time.Time) domain.MaintenanceStarted {
	return domain.MaintenanceStarted{MaintenanceID: mtID, SchoolID: domain.PlatformSchoolID,
		StartsAt: mtStarts, EndsAt: mtEnds, ReadOnly: true, At: at}
}

func mtEnded(at time.Time) domain.MaintenanceEnded {
	return domain.MaintenanceEnded{MaintenanceID: mtID, SchoolID: domain.PlatformSchoolID, At: at}
}

func mtCancelled(at time.Time) domain.MaintenanceCancelled {
	return domain.MaintenanceCancelled{MaintenanceID: mtID, SchoolID: domain.PlatformSchoolID,
		Reason: "postponed", CancelledBy: "platform-1", At: at}
}

func TestMaintenanceSchedule(t *testing.T) {
	t.Parallel()
	schedule := func(in domain.MaintenanceInput) func(*domain.Maintenance) error {
		return func(mt *domain.Maintenance) error { return mt.Schedule(in, acNow) }
	}

	t.Run("schedules", func(t *testing.T) {
		t.Parallel()
		mt := academic(t, domain.NewMaintenance(mtID)).when(schedule(mtInput())).then(mtScheduled())
		if mt.Status() != domain.MaintenanceStatusScheduled || mt.StreamID() != "maintenance-mt-1" || !mt.ReadOnly() ||
			!mt.StartsAt().Equal(mtStarts) || !mt.EndsAt().Equal(mtEnds) || mt.Title() != "Database upgrade" ||
			mt.Description() == "" || mt.ScheduledBy() != "platform-1" {
			t.Errorf("state: %s %s %v %s %s", mt.Status(), mt.StreamID(), mt.ReadOnly(), mt.StartsAt(), mt.EndsAt())
		}
	})

	t.Run("a full day without a description, not read-only", func(t *testing.T) {
		t.Parallel()
		in := mtInput()
		in.Description, in.ReadOnly, in.EndsAt = "", false, mtStarts.Add(domain.MaxMaintenanceWindow)
		want := mtScheduled()
		want.Description, want.ReadOnly, want.EndsAt = "", false, mtStarts.Add(24*time.Hour)
		academic(t, domain.NewMaintenance(mtID)).when(schedule(in)).then(want)
	})

	t.Run("times are kept in UTC", func(t *testing.T) {
		t.Parallel()
		berlin := time.FixedZone("CET", 3600)
		in := mtInput()
		in.StartsAt, in.EndsAt = mtStarts.In(berlin), mtEnds.In(berlin)
		academic(t, domain.NewMaintenance(mtID)).when(schedule(in)).then(mtScheduled())
	})

	t.Run("once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewMaintenance(mtID)).given(mtScheduled()).when(schedule(mtInput())).
			thenErr(domain.ErrMaintenanceExists)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	for _, tt := range []struct {
		name  string
		id    string
		edit  func(*domain.MaintenanceInput)
		field string
	}{
		{"no id", "", func(*domain.MaintenanceInput) {}, "maintenanceId"},
		{"no title", mtID, func(in *domain.MaintenanceInput) { in.Title = " " }, "title"},
		{"title too long", mtID, func(in *domain.MaintenanceInput) { in.Title = strings.Repeat("x", 201) }, "title"},
		{"description too long", mtID, func(in *domain.MaintenanceInput) { in.Description = strings.Repeat("x", 4001) }, "description"},
		{"no start", mtID, func(in *domain.MaintenanceInput) { in.StartsAt = time.Time{} }, "startsAt"},
		{"starting now", mtID, func(in *domain.MaintenanceInput) { in.StartsAt = acNow }, "startsAt"},
		{"starting in the past", mtID, func(in *domain.MaintenanceInput) { in.StartsAt = acNow.Add(-time.Hour) }, "startsAt"},
		{"no end", mtID, func(in *domain.MaintenanceInput) { in.EndsAt = time.Time{} }, "endsAt"},
		{"ending when it starts", mtID, func(in *domain.MaintenanceInput) { in.EndsAt = in.StartsAt }, "endsAt"},
		{"ending before it starts", mtID, func(in *domain.MaintenanceInput) { in.EndsAt = in.StartsAt.Add(-time.Minute) }, "endsAt"},
		{"longer than a day", mtID, func(in *domain.MaintenanceInput) {
			in.EndsAt = in.StartsAt.Add(24*time.Hour + time.Second)
		}, "endsAt"},
		{"no scheduler", mtID, func(in *domain.MaintenanceInput) { in.ScheduledBy = "" }, "scheduledBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := mtInput()
			tt.edit(&in)
			academic(t, domain.NewMaintenance(tt.id)).when(schedule(in)).thenInvalid(tt.field)
		})
	}
}

func TestMaintenanceLifecycle(t *testing.T) {
	t.Parallel()
	start := func(at time.Time) func(*domain.Maintenance) error {
		return func(mt *domain.Maintenance) error { return mt.Start(at) }
	}
	end := func(at time.Time) func(*domain.Maintenance) error {
		return func(mt *domain.Maintenance) error { return mt.End(at) }
	}
	cancel := func(reason, by string, at time.Time) func(*domain.Maintenance) error {
		return func(mt *domain.Maintenance) error { return mt.Cancel(reason, by, at) }
	}
	blank := func() *domain.Maintenance { return domain.NewMaintenance(mtID) }

	t.Run("starts at its start time", func(t *testing.T) {
		t.Parallel()
		mt := academic(t, blank()).given(mtScheduled()).when(start(mtStarts)).then(mtStarted(mtStarts))
		if mt.Status() != domain.MaintenanceStatusStarted {
			t.Errorf("status %s", mt.Status())
		}
	})
	t.Run("starts late", func(t *testing.T) {
		t.Parallel()
		late := mtEnds.Add(time.Hour)
		academic(t, blank()).given(mtScheduled()).when(start(late)).then(mtStarted(late))
	})
	t.Run("ends when started", func(t *testing.T) {
		t.Parallel()
		mt := academic(t, blank()).given(mtScheduled(), mtStarted(mtStarts)).when(end(mtEnds)).then(mtEnded(mtEnds))
		if mt.Status() != domain.MaintenanceStatusEnded {
			t.Errorf("status %s", mt.Status())
		}
	})
	t.Run("ends early", func(t *testing.T) {
		t.Parallel()
		early := mtStarts.Add(10 * time.Minute)
		academic(t, blank()).given(mtScheduled(), mtStarted(mtStarts)).when(end(early)).then(mtEnded(early))
	})
	t.Run("cancelled before it starts", func(t *testing.T) {
		t.Parallel()
		mt := academic(t, blank()).given(mtScheduled()).when(cancel(" postponed ", "platform-1", acNow)).then(mtCancelled(acNow))
		if mt.Status() != domain.MaintenanceStatusCancelled || mt.CancelReason() != "postponed" {
			t.Errorf("status %s, reason %q", mt.Status(), mt.CancelReason())
		}
	})
	t.Run("cancelled while on", func(t *testing.T) {
		t.Parallel()
		at := mtStarts.Add(time.Minute)
		academic(t, blank()).given(mtScheduled(), mtStarted(mtStarts)).when(cancel("postponed", "platform-1", at)).then(mtCancelled(at))
	})

	for _, tt := range []struct {
		name     string
		given    []domain.Event
		when     func(*domain.Maintenance) error
		sentinel error
		kind     domain.Kind
	}{
		{"start one never scheduled", nil, start(mtStarts), domain.ErrMaintenanceNotFound, domain.KindNotFound},
		{"start before its time", []domain.Event{mtScheduled()}, start(mtStarts.Add(-time.Second)), domain.ErrMaintenanceNotDue, domain.KindConflict},
		{"start twice", []domain.Event{mtScheduled(), mtStarted(mtStarts)}, start(mtStarts), domain.ErrMaintenanceStarted, domain.KindConflict},
		{"start an ended one", []domain.Event{mtScheduled(), mtStarted(mtStarts), mtEnded(mtEnds)}, start(mtEnds), domain.ErrMaintenanceOver, domain.KindConflict},
		{"start a cancelled one", []domain.Event{mtScheduled(), mtCancelled(acNow)}, start(mtStarts), domain.ErrMaintenanceOver, domain.KindConflict},
		{"end one never scheduled", nil, end(mtEnds), domain.ErrMaintenanceNotFound, domain.KindNotFound},
		{"end one not started", []domain.Event{mtScheduled()}, end(mtEnds), domain.ErrMaintenanceNotStarted, domain.KindConflict},
		{"end twice", []domain.Event{mtScheduled(), mtStarted(mtStarts), mtEnded(mtEnds)}, end(mtEnds), domain.ErrMaintenanceOver, domain.KindConflict},
		{"end a cancelled one", []domain.Event{mtScheduled(), mtCancelled(acNow)}, end(mtEnds), domain.ErrMaintenanceOver, domain.KindConflict},
		{"cancel one never scheduled", nil, cancel("x", "platform-1", acNow), domain.ErrMaintenanceNotFound, domain.KindNotFound},
		{"cancel an ended one", []domain.Event{mtScheduled(), mtStarted(mtStarts), mtEnded(mtEnds)}, cancel("x", "platform-1", mtEnds), domain.ErrMaintenanceOver, domain.KindConflict},
		{"cancel twice", []domain.Event{mtScheduled(), mtCancelled(acNow)}, cancel("x", "platform-1", acNow), domain.ErrMaintenanceOver, domain.KindConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := academic(t, blank()).given(tt.given...).when(tt.when).thenErr(tt.sentinel)
			if err.Kind != tt.kind {
				t.Errorf("kind = %s, want %s", err.Kind, tt.kind)
			}
		})
	}

	for _, tt := range []struct{ name, reason, by, field string }{
		{"cancel without a reason", " ", "platform-1", "reason"},
		{"cancel with a reason too long", strings.Repeat("x", 501), "platform-1", "reason"},
		{"cancel by no one", "postponed", "", "cancelledBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, blank()).given(mtScheduled()).when(cancel(tt.reason, tt.by, acNow)).thenInvalid(tt.field)
		})
	}
}

func TestMaintenanceStatusFromString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"scheduled", "Started", "ended", "cancelled"} {
		if st, err := domain.MaintenanceStatusFromString("status", s); err != nil || st.IsZero() {
			t.Errorf("%q: %v, %v", s, st, err)
		}
	}
	for _, s := range []string{"", "paused"} {
		if _, err := domain.MaintenanceStatusFromString("status", s); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%q: %v, want invalid", s, err)
		}
	}
}

// The platform-wide events name the reserved tenant; no school can take
// its ID.
func TestPlatformSchoolIsReserved(t *testing.T) {
	t.Parallel()
	for _, e := range []domain.Event{mtScheduled(), mtStarted(mtStarts), mtEnded(mtEnds), mtCancelled(acNow)} {
		if ch, _ := domain.ChannelOf(e.EventType()); ch != domain.ChannelSystem {
			t.Errorf("%s is on channel %q, want system", e.EventType(), ch)
		}
	}
	s := domain.NewSchool(domain.PlatformSchoolID)
	assertRejected(t, s.Register("Platform", "UTC", acNow), nil, domain.KindInvalid, "id")
	if len(s.Changes()) != 0 {
		t.Fatal("the platform tenant was registered as a school")
	}
}
