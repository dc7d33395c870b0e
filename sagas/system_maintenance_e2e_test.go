package sagas_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// TestW3SystemMaintenanceEndToEnd: a platform admin schedules a read-only
// window over HTTP; both schools' offices find the announcement in their
// inbox; at its start the workflow starts it and the API refuses commands
// with 503 and Retry-After, changing nothing, while reads work; after a
// restart, at its end, the workflow ends it, commands are served again,
// and the platform-wide workflow completes (GET /v1/workflows/{id}).
func TestW3SystemMaintenanceEndToEnd(t *testing.T) {
	t.Parallel()
	s := w3StartSystem(t, sagas.NewSystemMaintenance) // Monday 7 September 2026, 08:00 UTC
	other := s.create("/v1/schools", s.root, map[string]any{"name": "Sakura Gakuen", "timezone": "Asia/Tokyo"})
	s.Settle(t) // the directory lists both schools

	start, end := time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC), time.Date(2026, 9, 7, 11, 0, 0, 0, time.UTC)
	window := s.create("/v1/maintenance", s.root, map[string]any{"title": "Database upgrade",
		"startsAt": start.Format(time.RFC3339), "endsAt": end.Format(time.RFC3339), "readOnly": true})
	id := sagas.WorkflowID("system_maintenance", window)
	s.waitStep(id, "announced")
	for _, school := range []string{s.school, other} {
		msgs := s.WaitInbox(t, school, "admin", domain.OfficeRecipientID, 1)
		if !strings.HasPrefix(msgs[0].Subject, "Planned maintenance: Database upgrade") {
			t.Errorf("school %s: %q", school, msgs[0].Subject)
		}
	}

	// probe: a command that can never succeed (400), 503 in the window.
	probe := func() int {
		status, _ := s.Do(t, http.MethodPost, s.path("/teachers"), s.admin, map[string]any{"name": ""})
		return status
	}
	waitProbe := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for got := probe(); got != want; got = probe() {
			if time.Now().After(deadline) {
				t.Fatalf("commands answer %d, want %d", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	teacher := map[string]any{"name": "Eva Roth", "email": "eva.roth@school.test", "subjects": []string{"english"},
		"preferences": map[string]any{"maxClassesPerDay": 5}}

	s.Clock.Set(start)
	if n := s.FireDue(t); n != 1 {
		t.Fatalf("fired %d at the start", n)
	}
	waitProbe(http.StatusServiceUnavailable)
	before := s.CountEvents(t, domain.TeacherCreatedType)
	s.Clock.Set(start.Add(30 * time.Minute))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+s.path("/teachers"),
		strings.NewReader(`{"name":"Eva Roth","email":"eva.roth@school.test","subjects":["english"],"preferences":{"maxClassesPerDay":5}}`))
	req.Header.Set("Authorization", "Bearer "+s.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5400" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("during the window: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
	}
	if n := s.CountEvents(t, domain.TeacherCreatedType); n != before {
		t.Errorf("teachers created during the window: %d → %d", before, n)
	}
	if status, _ := s.Do(t, http.MethodGet, s.path("/teachers"), s.admin, nil); status != http.StatusOK {
		t.Errorf("a read during the window: %d", status)
	}
	hw := s.httpWorkflow("/v1/workflows/"+id, s.root)
	if hw.State != sagas.StateRunning || hw.Step != "started" || hw.SchoolID != "" {
		t.Errorf("GET /v1/workflows during the window: %+v", hw.WorkflowSummary)
	}

	s.RestartSagas(t)
	s.Clock.Set(end)
	if n := s.FireDue(t); n != 1 {
		t.Fatalf("fired %d at the end", n)
	}
	w := s.WaitWorkflow(t, id, sagas.StateCompleted)
	if !strings.HasSuffix(w.Reason, "; 2 schools told beforehand") {
		t.Errorf("reason: %s", w.Reason)
	}
	waitProbe(http.StatusBadRequest)
	s.create(s.path("/teachers"), s.admin, teacher)
	s.Settle(t)
	for typ, want := range map[string]int{domain.MaintenanceStartedType: 1, domain.MaintenanceEndedType: 1, domain.MessageSentType: 2} {
		if n := s.CountEvents(t, typ); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
}
