package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// wfSaga is a stand-in workflow for the status routes: a school
// registered event named "<id>:<school>" starts instance <id> in
// <school> ("-" for a platform-wide one) and schedules a reminder;
// "<id>:fail" fails it.
type wfSaga struct{}

func (wfSaga) Name() string               { return "wf_test" }
func (wfSaga) Channels() []domain.Channel { return []domain.Channel{domain.ChannelSchool} }
func (wfSaga) Correlate(t sagas.Trigger) (sagas.Route, bool) {
	id, _, _ := strings.Cut(t.Event.(domain.SchoolRegistered).Name, ":")
	return sagas.Route{ID: id, Key: "subject-" + id, Start: true}, true
}

func (wfSaga) Handle(_ context.Context, in *sagas.Instance, t sagas.Trigger) error {
	_, arg, _ := strings.Cut(t.Event.(domain.SchoolRegistered).Name, ":")
	if arg == "fail" {
		return &domain.Error{Kind: domain.KindConflict, Message: "class 5B is full (30/30)"}
	}
	if arg == "-" {
		arg = ""
	}
	in.SetSchool(arg)
	in.Record("started", "started for the test")
	if err := in.Save(map[string]int{"lessons": 12}); err != nil {
		return err
	}
	return in.Schedule("remind", in.Now().Add(time.Hour), nil)
}

func (wfSaga) Deadline(context.Context, *sagas.Instance, sagas.Deadline) error { return nil }

// wfStart runs the stand-in saga for an instance.
func wfStart(t *testing.T, rt *sagas.Runtime, name string) {
	t.Helper()
	id := uuid.New()
	data, _ := json.Marshal(domain.SchoolRegistered{SchoolID: id.String(), Name: name, Timezone: "UTC", At: time.Now()})
	err := rt.Handle(t.Context(), "wf_test", eventstore.RecordedEvent{
		ID: id, StreamID: "school-" + id.String(), Version: 1, Type: "school.registered.v1", Data: data,
		Metadata: eventstore.Metadata{SchoolID: schoolA, ActorID: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wfGet is getAs, then the body decoded into out (unless nil).
func (e *env) wfGet(path, token string, want int, out any) {
	e.t.Helper()
	w := e.getAs(token, path, want)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestWorkflowStatusRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, bare: true})
	rt, err := sagas.NewRuntime(sagas.Config{Pool: e.pool}, wfSaga{})
	if err != nil {
		t.Fatal(err)
	}
	wfStart(t, rt, "a1:"+schoolA)
	wfStart(t, rt, "a2:"+schoolA)
	wfStart(t, rt, "a2:fail")
	wfStart(t, rt, "b1:"+schoolB)
	wfStart(t, rt, "p1:-")
	a1 := sagas.WorkflowID("wf_test", "a1")
	b1 := sagas.WorkflowID("wf_test", "b1")
	p1 := sagas.WorkflowID("wf_test", "p1")

	adminA := e.adminA()
	adminB := e.token("admin-b", schoolB, commands.RoleSchoolAdmin)
	platform := e.token("root", "", commands.RolePlatformAdmin)
	teacherA := e.token("teacher-a", schoolA, commands.RoleTeacher)
	base := "/v1/schools/" + schoolA + "/workflows"

	var page sagas.WorkflowPage
	e.wfGet(base, adminA, http.StatusOK, &page)
	if len(page.Items) != 2 || page.Items[0].BusinessID != "a2" || page.Items[1].BusinessID != "a1" {
		t.Fatalf("school A's workflows: %+v", page.Items)
	}
	e.wfGet(base+"?state=failed&type=wf_test", adminA, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Reason != "class 5B is full (30/30)" {
		t.Errorf("failed ones: %+v", page.Items)
	}
	e.wfGet(base+"?subject=subject-a1&limit=1", adminA, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != a1 || page.NextCursor != "" {
		t.Errorf("by subject: %+v", page)
	}
	e.wfGet(base+"?limit=1", adminA, http.StatusOK, &page)
	if page.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	e.wfGet(base+"?limit=1&cursor="+page.NextCursor, adminA, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != a1 {
		t.Errorf("second page: %+v", page)
	}

	var w sagas.Workflow
	e.wfGet(base+"/"+a1, adminA, http.StatusOK, &w)
	if w.State != sagas.StateRunning || w.SchoolID != schoolA || len(w.Steps) != 1 || w.Steps[0].Reason != "started for the test" ||
		len(w.Deadlines) != 1 || w.Deadlines[0].State != sagas.DeadlinePending || !strings.Contains(string(w.Data), `"lessons"`) {
		t.Errorf("workflow: %+v", w)
	}
	e.wfGet(base+"/"+a1, platform, http.StatusOK, nil) // platform admins read any school's

	// Tenant isolation: another school's workflow is not found under this
	// school's path; another school's admin is refused this school's.
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{base + "/" + b1, adminA, http.StatusNotFound},
		{base + "/" + p1, adminA, http.StatusNotFound},
		{base + "/" + p1, platform, http.StatusNotFound}, // platform-wide: under /v1/workflows only
		{base, adminB, http.StatusForbidden},
		{base + "/" + a1, adminB, http.StatusForbidden},
		{base, teacherA, http.StatusForbidden},
		{base + "/" + a1, teacherA, http.StatusForbidden},
		{base + "/" + uuid.NewString(), adminA, http.StatusNotFound},
		{base + "/not-a-uuid", adminA, http.StatusBadRequest},
		{base + "?state=stuck", adminA, http.StatusBadRequest},
		{base + "?cursor=nope", adminA, http.StatusBadRequest},
		{base + "?typo=1", adminA, http.StatusBadRequest},
		{"/v1/workflows", adminA, http.StatusForbidden},
		{"/v1/workflows/" + a1, adminA, http.StatusForbidden},
		{"/v1/workflows", "", http.StatusUnauthorized},
	} {
		rec := e.do(req{method: http.MethodGet, path: c.path, token: c.token})
		if rec.Code != c.want {
			t.Errorf("GET %s: %d, want %d: %s", c.path, rec.Code, c.want, rec.Body)
		}
		if rec.Code >= 400 && (strings.Contains(rec.Body.String(), "started for the test") || strings.Contains(rec.Body.String(), "businessId")) {
			t.Errorf("GET %s leaks a workflow: %s", c.path, rec.Body)
		}
	}
	e.wfGet("/v1/schools/"+schoolB+"/workflows", adminB, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != b1 {
		t.Errorf("school B's admin sees %+v", page.Items)
	}

	// Platform admins: every workflow, platform-wide ones included.
	e.wfGet("/v1/workflows", platform, http.StatusOK, &page)
	if len(page.Items) != 4 {
		t.Errorf("every workflow: %d, want 4", len(page.Items))
	}
	e.wfGet("/v1/workflows?schoolId="+schoolB+"&state=running", platform, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != b1 {
		t.Errorf("school B's: %+v", page.Items)
	}
	var pw sagas.Workflow
	e.wfGet("/v1/workflows/"+p1, platform, http.StatusOK, &pw)
	if pw.SchoolID != "" || pw.BusinessID != "p1" {
		t.Errorf("platform-wide workflow: %+v", pw)
	}
	e.wfGet("/v1/workflows/"+uuid.NewString(), platform, http.StatusNotFound, nil)
}
