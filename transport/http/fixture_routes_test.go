package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
)

// Helpers of the tests of the real command routes (*_routes_test.go).

// exampleNow is "now" for the route tests: the dates of openapi.json's
// examples (a register of 2026-03-02, a meeting on 2026-03-10, ...) are
// valid at this instant, so the examples can be sent as they are.
var exampleNow = time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)

// setNow moves the server's clock (tokens, command timestamps).
func (e *env) setNow(now time.Time) {
	e.clock.mu.Lock()
	defer e.clock.mu.Unlock()
	e.clock.now = now
}

// api sends requests to the real routes and checks each exchange against
// openapi.json: the request when it is meant to be valid, every response.
type api struct {
	t   *testing.T
	e   *env
	ops map[string]bool // operationIds of the valid requests sent
}

func newAPI(t *testing.T) *api {
	t.Helper()
	return newAPIWith(t, options{db: true, bare: true})
}

// newAPIWith is newAPI with options (read models, timeouts).
func newAPIWith(t *testing.T, o options) *api {
	t.Helper()
	e := newEnv(t, o)
	e.setNow(exampleNow)
	return &api{t: t, e: e, ops: map[string]bool{}}
}

// call is one request. body is sent as JSON unless nil (a string is sent
// as is); header adds headers. valid says the request is meant to match
// the document: it is checked against it, and its operation noted.
type call struct {
	method, target, token string
	body                  any
	header                map[string]string
	valid                 bool
}

func (a *api) send(c call) *httptest.ResponseRecorder {
	a.t.Helper()
	r := request(a.t, c)
	if c.valid {
		checkRequest(a.t, r)
		if id := operationID(a.t, r); id != "" {
			a.ops[id] = true
		}
	}
	w := httptest.NewRecorder()
	a.e.h.ServeHTTP(w, r)
	checkResponse(a.t, r, w)
	return w
}

// request builds c's request.
func request(t *testing.T, c call) *http.Request {
	t.Helper()
	var raw []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(c.method, c.target, rd)
	if raw != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	return r
}

// operationID is the documented operation r is for ("" if none).
func operationID(t *testing.T, r *http.Request) string {
	t.Helper()
	_, router := spec(t)
	route, _, err := router.FindRoute(r)
	if err != nil {
		return ""
	}
	return route.Operation.OperationID
}

// example is a copy of the documented example body of the operation
// method target is for, with set's fields replaced (IDs known only at run
// time); nil when the operation has no example and set is empty.
func example(t *testing.T, method, target string, set map[string]any) map[string]any {
	t.Helper()
	_, router := spec(t)
	route, _, err := router.FindRoute(httptest.NewRequest(method, target, nil))
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	var body map[string]any
	if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Example != nil {
			raw, err := json.Marshal(mt.Example) // a deep copy
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if body == nil && len(set) > 0 {
		body = map[string]any{}
	}
	for k, v := range set {
		body[k] = v
	}
	return body
}

// head is the number of events in the store: unchanged means nothing was
// written anywhere. Counted in the table, not with Store.Head, which stops
// below transactions still open in the cluster (other tests' too).
func (e *env) head() uint64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return uint64(n)
}

// versions are the current versions of streams.
func (e *env) versions(streams ...string) map[string]int {
	e.t.Helper()
	out := make(map[string]int, len(streams))
	for _, s := range streams {
		out[s] = e.events(s)
	}
	return out
}

// eventTypes are the types of a stream's events, oldest first.
func (e *env) eventTypes(stream string) []string {
	e.t.Helper()
	recs, err := e.store.ReadStream(context.Background(), stream, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Type
	}
	return out
}

func schoolPath(school string, parts ...string) string {
	return "/v1/schools/" + school + strings.Join(parts, "")
}

// world is a small school built through the API, and a second one.
type world struct {
	school, other       string // school IDs
	admin, otherAdmin   string // tokens of the schools' admins
	platform            string // platform admin's token
	math, english       string // teacher IDs (mathematics teaches class)
	mathTok, englishTok string // their tokens
	class               string // class 5A of school, taught mathematics by math
	student             string // in class
	guardian, guardTok  string // the student's guardian and their token
	otherStudent        string // a student of the other school
}

// reissue issues the tokens again, after the clock moved past their expiry.
func (w *world) reissue(e *env) {
	w.platform = e.token("root", "", commands.RolePlatformAdmin)
	w.admin = e.token("admin-1", w.school, commands.RoleSchoolAdmin)
	w.otherAdmin = e.token("admin-2", w.other, commands.RoleSchoolAdmin)
	w.mathTok = e.token(w.math, w.school, commands.RoleTeacher)
	w.englishTok = e.token(w.english, w.school, commands.RoleTeacher)
	w.guardTok = e.token(w.guardian, w.school, commands.RoleGuardian)
}

// newWorld builds the world with the documented examples, through the
// real routes.
func newWorld(a *api) world {
	a.t.Helper()
	var w world
	w.platform = a.e.token("root", "", commands.RolePlatformAdmin)
	create := func(token, target string, set map[string]any) string {
		a.t.Helper()
		res := result(a.t, a.send(call{method: http.MethodPost, target: target, token: token,
			body: example(a.t, http.MethodPost, target, set), valid: true}), http.StatusCreated)
		return res.ID
	}
	w.school = create(w.platform, "/v1/schools", nil)
	w.other = create(w.platform, "/v1/schools", map[string]any{"name": "Hillside Secondary School"})
	w.admin = a.e.token("admin-1", w.school, commands.RoleSchoolAdmin)
	w.otherAdmin = a.e.token("admin-2", w.other, commands.RoleSchoolAdmin)

	w.math = create(w.admin, schoolPath(w.school, "/teachers"), nil)
	w.english = create(w.admin, schoolPath(w.school, "/teachers"), map[string]any{
		"name": "Grace Hopper", "email": "grace.hopper@riverside.example", "subjects": []string{"english"}})
	w.mathTok = a.e.token(w.math, w.school, commands.RoleTeacher)
	w.englishTok = a.e.token(w.english, w.school, commands.RoleTeacher)
	w.class = create(w.admin, schoolPath(w.school, "/classes"), map[string]any{
		"subjects": []any{map[string]any{"subject": "mathematics", "teacherId": w.math}, "english"}})
	w.student = create(w.admin, schoolPath(w.school, "/students"), nil)
	w.guardian = commands.GuardianID(w.school, "ngozi.okafor@example.com")
	w.guardTok = a.e.token(w.guardian, w.school, commands.RoleGuardian)
	assign := schoolPath(w.school, "/students/", w.student, "/class-assignment")
	result(a.t, a.send(call{method: http.MethodPost, target: assign, token: w.admin,
		body: example(a.t, http.MethodPost, assign, map[string]any{"classId": w.class}), valid: true}), http.StatusOK)
	w.otherStudent = create(w.otherAdmin, schoolPath(w.other, "/students"), map[string]any{"name": "Mia Novak",
		"guardians": []any{map[string]any{"name": "Petra Novak", "email": "petra.novak@example.com", "relationship": "mother"}}})
	return w
}
