package projections_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/projections"
)

// w3AppendMaintenance appends platform-wide maintenance events to their
// stream as the commands do (metadata school "platform").
func w3AppendMaintenance(t *testing.T, store eventstore.Store, id string, events ...domain.Event) {
	t.Helper()
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		data[i] = eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: body,
			Metadata: eventstore.Metadata{SchoolID: domain.PlatformSchoolID, ActorID: "root", ActorRole: "platform_admin"}}
	}
	if _, err := store.Append(context.Background(), "maintenance-"+id, eventstore.Any(), data); err != nil {
		t.Fatal(err)
	}
}

func TestMaintenanceWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.New(pool)

	// Before the read model is set up, no window is active (and no error):
	// the API's read-only check must not fail on a fresh database.
	if _, ok, err := projections.ActiveReadOnlyWindow(ctx, pool); ok || err != nil {
		t.Fatalf("before setup: active = %v, err = %v", ok, err)
	}
	reg := newRegistry(t, pool, store)

	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	ro, open, called := ids[0], ids[1], ids[2]
	sched := func(id, title string, starts time.Time, readOnly bool) domain.MaintenanceScheduled {
		return domain.MaintenanceScheduled{MaintenanceID: id, SchoolID: domain.PlatformSchoolID, Title: title,
			Description: "details", StartsAt: starts, EndsAt: starts.Add(2 * time.Hour), ReadOnly: readOnly,
			ScheduledBy: "root", At: at}
	}
	started := func(s domain.MaintenanceScheduled, when time.Time) domain.MaintenanceStarted {
		return domain.MaintenanceStarted{MaintenanceID: s.MaintenanceID, SchoolID: s.SchoolID, StartsAt: s.StartsAt,
			EndsAt: s.EndsAt, ReadOnly: s.ReadOnly, At: when}
	}
	roS := sched(ro, "Database upgrade", at.Add(24*time.Hour), true)
	openS := sched(open, "Kafka rolling restart", at.Add(48*time.Hour), false)
	calledS := sched(called, "Cancelled one", at.Add(72*time.Hour), true)
	w3AppendMaintenance(t, store, ro, roS)
	w3AppendMaintenance(t, store, open, openS)
	w3AppendMaintenance(t, store, called, calledS)
	deliver(t, reg, readAll(t, pool, store))

	list := must(projections.ListMaintenanceWindows(ctx, pool, projections.MaintenanceFilter{}))(t)
	var got []string
	for _, w := range list.Items {
		got = append(got, w.MaintenanceID+":"+w.State)
	}
	eq(t, "latest start first, all scheduled", got, []string{called + ":scheduled", open + ":scheduled", ro + ":scheduled"})
	if _, ok, _ := projections.ActiveReadOnlyWindow(ctx, pool); ok {
		t.Fatal("a scheduled window is active")
	}

	// Started: the read-only one is active; the other is active but not
	// read-only; the third is cancelled before it starts.
	w3AppendMaintenance(t, store, ro, started(roS, roS.StartsAt))
	w3AppendMaintenance(t, store, open, started(openS, openS.StartsAt))
	w3AppendMaintenance(t, store, called, domain.MaintenanceCancelled{MaintenanceID: called, SchoolID: domain.PlatformSchoolID,
		Reason: "not needed", CancelledBy: "root", At: at.Add(time.Hour)})
	events := readAll(t, pool, store)
	deliver(t, reg, events)
	deliver(t, reg, events) // redelivered: no change

	w, ok, err := projections.ActiveReadOnlyWindow(ctx, pool)
	if err != nil || !ok {
		t.Fatalf("active read-only window: %v %v", ok, err)
	}
	eq(t, "active window", w, projections.ReadOnlyWindow{MaintenanceID: ro, Title: "Database upgrade", EndsAt: roS.EndsAt})

	one := must(projections.GetMaintenanceWindow(ctx, pool, ro))(t)
	eq(t, "window", one, projections.MaintenanceWindow{MaintenanceID: ro, Title: "Database upgrade", Description: "details",
		StartsAt: roS.StartsAt, EndsAt: roS.EndsAt, ReadOnly: true, State: "active", ScheduledBy: "root",
		ScheduledAt: ptr(at), StartedAt: ptr(roS.StartsAt)})
	c := must(projections.GetMaintenanceWindow(ctx, pool, called))(t)
	if c.State != "cancelled" || c.CancelReason != "not needed" || c.CancelledBy != "root" || c.CancelledAt == nil {
		t.Errorf("cancelled window: %+v", c)
	}
	_, err = projections.GetMaintenanceWindow(ctx, pool, uuid.NewString())
	wantNotFound(t, "unknown window", err)

	active := must(projections.ListMaintenanceWindows(ctx, pool, projections.MaintenanceFilter{State: "active"}))(t)
	if len(active.Items) != 2 {
		t.Errorf("active windows: %+v", active.Items)
	}
	if _, err := projections.ListMaintenanceWindows(ctx, pool, projections.MaintenanceFilter{State: "paused"}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("state=paused: err = %v, want invalid", err)
	}
	// Paging: one at a time, latest start first.
	p1 := must(projections.ListMaintenanceWindows(ctx, pool, projections.MaintenanceFilter{PageParams: projections.PageParams{Limit: 2}}))(t)
	p2 := must(projections.ListMaintenanceWindows(ctx, pool, projections.MaintenanceFilter{PageParams: projections.PageParams{Limit: 2, Cursor: p1.NextCursor}}))(t)
	if len(p1.Items) != 2 || p1.NextCursor == "" || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].MaintenanceID != ro {
		t.Errorf("pages: %+v / %+v", p1, p2)
	}

	// Ended: no active read-only window any more.
	w3AppendMaintenance(t, store, ro, domain.MaintenanceEnded{MaintenanceID: ro, SchoolID: domain.PlatformSchoolID, At: roS.EndsAt})
	deliver(t, reg, readAll(t, pool, store))
	if w, ok, _ := projections.ActiveReadOnlyWindow(ctx, pool); ok {
		t.Fatalf("after the end: %+v is active", w)
	}
	if e := must(projections.GetMaintenanceWindow(ctx, pool, ro))(t); e.State != "ended" || e.EndedAt == nil || !e.EndedAt.Equal(roS.EndsAt) {
		t.Errorf("ended window: %+v", e)
	}
}
