package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

// While serve rebuilds a projection whose SchemaVersion changed, the new
// release's queries meet the old release's tables: they fail, and the
// caller gets 503 with Retry-After, not a 500.

// rebuildEnv is a server over the read models (Setup done, nothing in
// the store), with sql to run against its database.
func rebuildEnv(t *testing.T) (*env, func(sql string)) {
	t.Helper()
	e := newEnv(t, options{readModels: true, bare: true})
	return e, func(sql string) {
		t.Helper()
		if _, err := e.pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func TestQueryOfAReadModelBeingRebuiltIsUnavailable(t *testing.T) {
	t.Parallel()
	e, exec := rebuildEnv(t)
	dashboard := schoolPath(schoolA, "/dashboard")
	e.get(dashboard, http.StatusOK)

	// A previous release's rm_dashboard: the previous version, its
	// interventions under another name (this release reads interventions).
	exec(`ALTER TABLE rm_dashboard.interventions RENAME TO intervention_rows`)
	exec(`UPDATE rm_dashboard.projection_info SET schema_version = schema_version - 1`)

	w := e.get(dashboard, http.StatusServiceUnavailable)
	// The cause stays in the log, not in the answer.
	if strings.Contains(w.Body.String(), "interventions") {
		t.Errorf("the answer leaks the SQL error: %s", w.Body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "interventions") || !strings.Contains(logs, `"projection":"dashboard"`) {
		t.Errorf("the log does not keep the cause: %s", logs)
	}
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	p := problem(t, w, http.StatusServiceUnavailable)
	if p.Type != httpapi.TypeReadModelRebuilding {
		t.Errorf("problem type %q, want %q", p.Type, httpapi.TypeReadModelRebuilding)
	}
	if !strings.Contains(p.Detail, "dashboard") || !strings.Contains(p.Detail, "rebuilt") {
		t.Errorf("detail %q does not say the dashboard is being rebuilt", p.Detail)
	}

	// The caller's own mistakes are still theirs.
	problem(t, e.get(dashboard+"?weeks=0", http.StatusBadRequest), http.StatusBadRequest)

	// Once rebuilt (the new tables swapped in), the route answers again.
	exec(`ALTER TABLE rm_dashboard.intervention_rows RENAME TO interventions`)
	exec(`UPDATE rm_dashboard.projection_info SET schema_version = schema_version + 1`)
	e.get(dashboard, http.StatusOK)
}

// A route reading several projections answers 503 when any of them is
// outdated: here the second, rm_students, which a guardian's access check
// reads before the timetable.
func TestQueryOfSeveralReadModelsOneBeingRebuilt(t *testing.T) {
	t.Parallel()
	e, exec := rebuildEnv(t)
	guardian := e.token("33333333-3333-4333-8333-333333333333", schoolA, commands.RoleGuardian)
	timetable := schoolPath(schoolA, "/classes/44444444-4444-4444-8444-444444444444/timetable")
	problem(t, e.getAs(guardian, timetable, http.StatusNotFound), http.StatusNotFound) // not their child's class

	exec(`ALTER TABLE rm_students.student_guardians RENAME TO guardians_v0`)
	exec(`UPDATE rm_students.projection_info SET schema_version = schema_version + 1`)
	w := e.getAs(guardian, timetable, http.StatusServiceUnavailable)
	p := problem(t, w, http.StatusServiceUnavailable)
	if p.Type != httpapi.TypeReadModelRebuilding || !strings.Contains(p.Detail, "students") || w.Header().Get("Retry-After") == "" {
		t.Errorf("problem %+v, Retry-After %q", p, w.Header().Get("Retry-After"))
	}

	// A build that never finished (interrupted) is being built too.
	exec(`UPDATE rm_students.projection_info SET schema_version = schema_version - 1, complete = false`)
	p = problem(t, e.getAs(guardian, timetable, http.StatusServiceUnavailable), http.StatusServiceUnavailable)
	if p.Type != httpapi.TypeReadModelRebuilding {
		t.Errorf("problem %+v", p)
	}
}

// A query that fails on a projection that is current is the server's
// fault: 500, as before.
func TestQueryFailingOnACurrentReadModelIsAnInternalError(t *testing.T) {
	t.Parallel()
	e, exec := rebuildEnv(t)
	rates := schoolPath(schoolA, "/attendance/rates")
	exec(`ALTER TABLE rm_attendance.registers RENAME TO registers_gone`)
	w := e.get(rates, http.StatusInternalServerError)
	p := problem(t, w, http.StatusInternalServerError)
	if p.Type != httpapi.TypeInternal || w.Header().Get("Retry-After") != "" {
		t.Errorf("problem %+v, Retry-After %q", p, w.Header().Get("Retry-After"))
	}
}
