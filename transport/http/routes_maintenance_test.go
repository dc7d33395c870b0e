package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// The maintenance routes and the read-only window (readonly.go), against
// PostgreSQL with the read models fed from the store. The test plays the
// system_maintenance workflow: it starts and ends the window with the
// commands the workflow issues.

// mwWindow is a window as GET /v1/maintenance/{id} shows it.
type mwWindow struct {
	MaintenanceID string    `json:"maintenanceId"`
	State         string    `json:"state"`
	ReadOnly      bool      `json:"readOnly"`
	EndsAt        time.Time `json:"endsAt"`
}

type mwEnv struct {
	a    *api
	e    *env
	repo *commands.Repository
}

func newMWEnv(t *testing.T) *mwEnv {
	t.Helper()
	a := newAPIWith(t, options{readModels: true})
	return &mwEnv{a: a, e: a.e, repo: commands.NewRepository(a.e.store, a.e.clock.Now)}
}

// root is a platform admin's token, valid at the clock's time.
func (m *mwEnv) root() string { return m.e.token("root", "", commands.RolePlatformAdmin) }

// admin is a school admin's token (school A), valid at the clock's time.
func (m *mwEnv) admin() string { return m.e.token("admin-1", schoolA, commands.RoleSchoolAdmin) }

// schedule schedules a read-only window through the route and returns
// its ID.
func (m *mwEnv) schedule(t *testing.T, starts, ends time.Time) string {
	t.Helper()
	body := example(t, http.MethodPost, "/v1/maintenance", map[string]any{
		"startsAt": starts.Format(time.RFC3339), "endsAt": ends.Format(time.RFC3339)})
	rec := m.a.send(call{method: http.MethodPost, target: "/v1/maintenance", token: m.root(), body: body, valid: true})
	res := result(t, rec, http.StatusCreated)
	if loc := rec.Header().Get("Location"); loc != "/v1/maintenance/"+res.ID || res.Stream != "maintenance-"+res.ID {
		t.Errorf("Location %q, result %+v", loc, res)
	}
	return res.ID
}

// service is the workflow's command metadata.
func (m *mwEnv) service() commands.Meta {
	return commands.Meta{CommandID: uuid.NewString(),
		Actor: commands.Actor{ID: "saga:system_maintenance", Roles: []commands.Role{commands.RoleService}}}
}

func (m *mwEnv) start(t *testing.T, id string) {
	t.Helper()
	if _, err := commands.NewStartMaintenanceHandler(m.repo).Handle(context.Background(), m.service(),
		commands.StartMaintenance{MaintenanceID: id}); err != nil {
		t.Fatal(err)
	}
}

func (m *mwEnv) end(t *testing.T, id string) {
	t.Helper()
	if _, err := commands.NewEndMaintenanceHandler(m.repo).Handle(context.Background(), m.service(),
		commands.EndMaintenance{MaintenanceID: id}); err != nil {
		t.Fatal(err)
	}
}

// window reads a window once the read model has applied its stream up to
// version.
func (m *mwEnv) window(t *testing.T, id string, version int) mwWindow {
	t.Helper()
	target := fmt.Sprintf("/v1/maintenance/%s?after=maintenance-%s:%d", id, id, version)
	rec := m.a.send(call{method: http.MethodGet, target: target, token: m.root(), valid: true})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	var w mwWindow
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// probe sends a command that can never succeed (a school without a
// name): 400 when commands are accepted, 503 during a read-only window;
// it appends nothing either way.
func (m *mwEnv) probe() int {
	return m.e.do(req{method: http.MethodPost, path: "/v1/schools", token: m.root(), body: `{"name":"","timezone":"UTC"}`}).Code
}

// waitProbe waits (the API reads the window at most once a second) until
// probe answers want.
func (m *mwEnv) waitProbe(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := m.probe()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("commands answer %d, want %d", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registerSchool sends the documented RegisterSchool example.
func (m *mwEnv) registerSchool(t *testing.T, key string) *httptest.ResponseRecorder {
	t.Helper()
	c := call{method: http.MethodPost, target: "/v1/schools", token: m.root(),
		body: example(t, http.MethodPost, "/v1/schools", nil), valid: true}
	if key != "" {
		c.header = map[string]string{"Idempotency-Key": key}
	}
	return m.a.send(c)
}

// TestMaintenanceReadOnlyWindow: once a read-only window is started,
// every command answers 503 with Retry-After (the seconds until its end)
// and nothing is appended, not even an Idempotency-Key taken; reads and
// the maintenance routes keep working; once it ends, commands are served
// again, the same Idempotency-Key included.
func TestMaintenanceReadOnlyWindow(t *testing.T) {
	t.Parallel()
	m := newMWEnv(t)
	starts, ends := exampleNow.Add(time.Hour), exampleNow.Add(4*time.Hour)
	id := m.schedule(t, starts, ends)
	rec := m.a.send(call{method: http.MethodGet, target: "/v1/maintenance?state=scheduled&after=maintenance-" + id + ":1",
		token: m.admin(), valid: true})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), id) {
		t.Fatalf("school admin lists the windows: %d %s", rec.Code, rec.Body)
	}
	// Scheduled, not started: commands work.
	result(t, m.registerSchool(t, ""), http.StatusCreated)

	m.e.setNow(starts)
	m.start(t, id)
	if w := m.window(t, id, 2); w.State != "active" || !w.ReadOnly {
		t.Fatalf("window after its start: %+v", w)
	}
	m.waitProbe(t, http.StatusServiceUnavailable)

	before, keys := m.e.head(), m.e.keyRows()
	rec = m.registerSchool(t, "mw-key-1")
	p := problem(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") != "10800" || p.Type != httpapi.TypeUnavailable || !strings.Contains(p.Detail, id) {
		t.Errorf("Retry-After %q, problem %+v", rec.Header().Get("Retry-After"), p)
	}
	// A school route too (the school need not even exist: refused first).
	rec = m.a.send(call{method: http.MethodPost, target: schoolPath(schoolA, "/teachers"), token: m.admin(),
		body: example(t, http.MethodPost, schoolPath(schoolA, "/teachers"), nil), valid: true})
	problem(t, rec, http.StatusServiceUnavailable)
	m.e.setNow(starts.Add(90 * time.Minute))
	if rec = m.registerSchool(t, ""); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5400" {
		t.Errorf("90 minutes in: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if m.e.head() != before || m.e.keyRows() != keys {
		t.Errorf("during the window: events %d → %d, idempotency keys %d → %d", before, m.e.head(), keys, m.e.keyRows())
	}

	// Reads keep working, and so do the maintenance routes.
	if rec = m.a.send(call{method: http.MethodGet, target: "/v1/schools", token: m.root(), valid: true}); rec.Code != http.StatusOK {
		t.Errorf("GET /v1/schools during the window: %d", rec.Code)
	}
	next := m.schedule(t, ends.Add(24*time.Hour), ends.Add(25*time.Hour))
	if next == "" {
		t.Fatal("no second window")
	}

	m.e.setNow(starts.Add(2 * time.Hour))
	m.end(t, id)
	if w := m.window(t, id, 3); w.State != "ended" {
		t.Fatalf("window after its end: %+v", w)
	}
	m.waitProbe(t, http.StatusBadRequest)
	// The key refused during the window was never taken: it runs now.
	rec = m.registerSchool(t, "mw-key-1")
	result(t, rec, http.StatusCreated)
	if rec.Header().Get(httpapi.HeaderIdempotentReplayed) != "" {
		t.Error("the request refused during the window was replayed")
	}
}

// TestMaintenanceReadOnlyWindowStops: a window cancelled while it runs
// stops refusing commands; one whose end event is late stops at its
// declared end; a window that is not read-only refuses nothing.
func TestMaintenanceReadOnlyWindowStops(t *testing.T) {
	t.Parallel()
	m := newMWEnv(t)
	starts, ends := exampleNow.Add(time.Hour), exampleNow.Add(2*time.Hour)
	id := m.schedule(t, starts, ends)
	m.e.setNow(starts)
	m.start(t, id)
	m.window(t, id, 2)
	m.waitProbe(t, http.StatusServiceUnavailable)

	// Called off by a platform admin while it runs.
	rec := m.a.send(call{method: http.MethodPost, target: "/v1/maintenance/" + id + "/cancel", token: m.root(),
		body: example(t, http.MethodPost, "/v1/maintenance/"+id+"/cancel", nil), valid: true})
	result(t, rec, http.StatusOK)
	if w := m.window(t, id, 3); w.State != "cancelled" {
		t.Fatalf("after the cancellation: %+v", w)
	}
	m.waitProbe(t, http.StatusBadRequest)

	// Past its declared end, a window whose end is not recorded yet
	// refuses nothing.
	late := m.schedule(t, ends.Add(time.Hour), ends.Add(2*time.Hour))
	m.e.setNow(ends.Add(time.Hour))
	m.start(t, late)
	m.window(t, late, 2)
	m.waitProbe(t, http.StatusServiceUnavailable)
	m.e.setNow(ends.Add(2 * time.Hour))
	if got := m.probe(); got != http.StatusBadRequest {
		t.Errorf("at the declared end: %d, want commands accepted", got)
	}

	// Not read-only: nothing refused.
	body := example(t, http.MethodPost, "/v1/maintenance", map[string]any{"readOnly": false,
		"startsAt": ends.Add(3 * time.Hour).Format(time.RFC3339), "endsAt": ends.Add(4 * time.Hour).Format(time.RFC3339)})
	open := result(t, m.a.send(call{method: http.MethodPost, target: "/v1/maintenance", token: m.root(), body: body, valid: true}),
		http.StatusCreated).ID
	m.e.setNow(ends.Add(3 * time.Hour))
	m.start(t, open)
	if w := m.window(t, open, 2); w.State != "active" || w.ReadOnly {
		t.Fatalf("open window: %+v", w)
	}
	time.Sleep(1100 * time.Millisecond) // past the API's cache of the window
	if got := m.probe(); got != http.StatusBadRequest {
		t.Errorf("during a window that is not read-only: %d", got)
	}
}

// TestMaintenanceRoutesRefuse: who may do what, and bad input named.
func TestMaintenanceRoutesRefuse(t *testing.T) {
	t.Parallel()
	m := newMWEnv(t)
	admin := m.admin()
	teacher := m.e.token("teacher-1", schoolA, commands.RoleTeacher)
	body := example(t, http.MethodPost, "/v1/maintenance", nil)

	problem(t, m.a.send(call{method: http.MethodPost, target: "/v1/maintenance", token: admin, body: body, valid: true}), http.StatusForbidden)
	problem(t, m.a.send(call{method: http.MethodGet, target: "/v1/maintenance", token: teacher, valid: true}), http.StatusForbidden)

	for field, set := range map[string]map[string]any{
		"startsAt": {"startsAt": "tomorrow"},
		"endsAt":   {"endsAt": ""},
		"title":    {"title": ""},
	} {
		p := problem(t, m.a.send(call{method: http.MethodPost, target: "/v1/maintenance", token: m.root(),
			body: example(t, http.MethodPost, "/v1/maintenance", set)}), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%v: %+v", set, p)
		}
	}
	// Starting in the past.
	p := problem(t, m.a.send(call{method: http.MethodPost, target: "/v1/maintenance", token: m.root(),
		body: example(t, http.MethodPost, "/v1/maintenance", map[string]any{"startsAt": "2026-03-01T00:00:00Z"})}), http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "startsAt" {
		t.Errorf("past start: %+v", p)
	}
	p = problem(t, m.a.send(call{method: http.MethodGet, target: "/v1/maintenance?state=paused", token: m.root()}), http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "state" {
		t.Errorf("state=paused: %+v", p)
	}
	problem(t, m.a.send(call{method: http.MethodGet, target: "/v1/maintenance/" + uuid.NewString(), token: admin, valid: true}), http.StatusNotFound)
	problem(t, m.a.send(call{method: http.MethodPost, target: "/v1/maintenance/" + uuid.NewString() + "/cancel", token: m.root(),
		body: map[string]any{"reason": "no longer needed"}, valid: true}), http.StatusNotFound)
}
