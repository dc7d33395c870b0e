package sagas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

const w3Maintenance = "system_maintenance"

// w3ScheduleMaintenance schedules a read-only window from start to end.
func (w *w3World) scheduleMaintenance(title string, start, end time.Time) string {
	w.t.Helper()
	id := uuid.NewString()
	w.must(commands.NewScheduleMaintenanceHandler(w.repo).Handle(w.ctx, platformAdmin(), commands.ScheduleMaintenance{
		MaintenanceID: id, Title: title, Description: "PostgreSQL major upgrade", StartsAt: start, EndsAt: end, ReadOnly: true}))
	return id
}

// TestW3SystemMaintenance: the window is announced to every school's
// office in the school's time zone, started and ended on time by the
// workflow across restarts, each step once although every event is
// delivered twice, and the platform-wide workflow completes.
func TestW3SystemMaintenance(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewSystemMaintenance)
	w.twice = true
	w.at(w3UTC(2026, 9, 7, 7, 0))
	berlin := w.school("Lindenschule", "Europe/Berlin")
	tokyo := w.school("Sakura Gakuen", "Asia/Tokyo")
	start, end := w3UTC(2026, 9, 12, 20, 0), w3UTC(2026, 9, 12, 23, 0)
	id := w.scheduleMaintenance("Database upgrade", start, end)
	w.pump()

	wf := w.workflow(w3Maintenance, id)
	if wf.State != sagas.StateRunning || wf.SchoolID != "" || wf.Step != "announced" {
		t.Fatalf("%s at %s in school %q: %s", wf.State, wf.Step, wf.SchoolID, wf.Reason)
	}
	if r := stepReason(t, wf, "announced"); !strings.Contains(r, "announced to the administrators of 2 schools (") {
		t.Errorf("announced: %s", r)
	}
	msgs := w.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per school", len(msgs))
	}
	bySchool := map[string]domain.MessageSent{}
	for _, m := range msgs {
		bySchool[m.SchoolID] = m
		if len(m.Recipients) != 1 || m.Recipients[0] != (domain.Recipient{Kind: domain.RecipientAdmin, ID: domain.OfficeRecipientID}) {
			t.Errorf("recipients: %+v", m.Recipients)
		}
	}
	for _, school := range []*w3School{berlin, tokyo} {
		m := bySchool[school.ID]
		if !strings.Contains(m.Body, "From: Saturday 12 September 2026, 20:00 UTC") || !strings.Contains(m.Body, "read-only") ||
			m.Subject != "Planned maintenance: Database upgrade, Saturday 12 September 2026, 20:00 to 23:00 UTC" {
			t.Errorf("announcement to %s: %s\n%s", school.ID, m.Subject, m.Body)
		}
	}

	w.restart()
	w.at(start.Add(-time.Second))
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d before the start", n)
	}
	w.at(start)
	if n := w.fire(); n != 1 {
		t.Fatalf("fired %d at the start, want 1", n)
	}
	w.restart()
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d again", n)
	}
	if got := deadlineStates(w.workflow(w3Maintenance, id)); strings.Join(got, " ") != "start:fired end:pending" {
		t.Errorf("deadlines: %v", got)
	}
	w.at(end)
	if n := w.fire(); n != 1 {
		t.Fatalf("fired %d at the end, want 1", n)
	}
	w.restart()
	if n := w.fire(); n != 0 {
		t.Fatalf("fired %d after the end", n)
	}

	wf = w.workflow(w3Maintenance, id)
	if wf.State != sagas.StateCompleted || wf.Reason != "read-only window \"Database upgrade\" ran from 2026-09-12T20:00:00Z to 2026-09-12T23:00:00Z; 2 schools told beforehand" {
		t.Errorf("%s: %s", wf.State, wf.Reason)
	}
	if got := strings.Join(stepNames(wf), " "); got != "announced started ended completed" {
		t.Errorf("steps: %s", got)
	}
	for typ, want := range map[string]int{domain.MaintenanceStartedType: 1, domain.MaintenanceEndedType: 1, domain.MessageSentType: 2} {
		if n := len(w.events(typ)); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
}

// TestW3SystemMaintenanceCancelled: a window cancelled while it runs stops
// its timers, the schools are told, the workflow completes with the
// reason; the end deadline never fires.
func TestW3SystemMaintenanceCancelled(t *testing.T) {
	t.Parallel()
	w := w3NewWorld(t, sagas.NewSystemMaintenance)
	w.at(w3UTC(2026, 9, 7, 7, 0))
	w.school("Lindenschule", "Europe/Berlin")
	start, end := w3UTC(2026, 9, 12, 20, 0), w3UTC(2026, 9, 12, 23, 0)
	id := w.scheduleMaintenance("Database upgrade", start, end)
	w.pump()
	w.at(start)
	w.fire()

	w.at(start.Add(30 * time.Minute))
	w.must(commands.NewCancelMaintenanceHandler(w.repo).Handle(w.ctx, platformAdmin(),
		commands.CancelMaintenance{MaintenanceID: id, Reason: "the upgrade is postponed"}))
	w.pump()
	wf := w.workflow(w3Maintenance, id)
	if wf.State != sagas.StateCompleted || wf.Reason != "cancelled by root: the upgrade is postponed; the administrators of 1 school told" {
		t.Errorf("%s: %s", wf.State, wf.Reason)
	}
	if got := strings.Join(deadlineStates(wf), " "); got != "start:fired end:cancelled" {
		t.Errorf("deadlines: %s", got)
	}
	msgs := w.messages()
	if len(msgs) != 2 || !strings.Contains(msgs[1].Subject, "Maintenance cancelled") || !strings.Contains(msgs[1].Body, "the upgrade is postponed") {
		t.Errorf("messages: %+v", msgs)
	}
	w.at(end.Add(time.Hour))
	if n := w.fire(); n != 0 {
		t.Errorf("fired %d after the cancellation", n)
	}
	if n := len(w.events(domain.MaintenanceEndedType)); n != 0 {
		t.Errorf("%d ended events", n)
	}
}
