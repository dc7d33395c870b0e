package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/auth"
	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

func TestNewServerReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := httpapi.NewServer(httpapi.Config{JWTSecret: []byte("short"), BodyLimit: -1}, httpapi.Deps{})
	if err == nil {
		t.Fatal("NewServer accepted an empty configuration")
	}
	for _, want := range []string{"JWT secret", "body limit", "event store", "database pool", "command repository"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestNewServerRejectsUselessRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	httpapi.AddSchoolCommand(e.srv, http.MethodPost, "/nobody", nil, "Nobody", true, e.createThing)
	httpapi.AddSchoolCommand(e.srv, http.MethodPost, "/anonymous", []commands.Role{commands.RoleTeacher}, "", true, e.createThing)
	if n := len(httpapi.RouteErrors(e.srv)); n != 2 {
		t.Fatalf("%d route errors, want 2: %v", n, httpapi.RouteErrors(e.srv))
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	w := e.do(req{method: http.MethodGet, path: "/healthz"})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Fatalf("healthz: %d %s", w.Code, w.Body)
	}
}

func TestReadyzWithoutDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{}) // its pool points at a closed port
	p := problem(t, e.do(req{method: http.MethodGet, path: "/readyz"}), http.StatusServiceUnavailable)
	if p.Type != httpapi.TypeUnavailable {
		t.Errorf("type = %q", p.Type)
	}
	// A 503 without Retry-After is a failure: logged as an error.
	if lines := e.logLines(t, "http request"); len(lines) != 1 || lines[0]["level"] != "ERROR" {
		t.Errorf("access log of a database down: %v, want one line at ERROR", lines)
	}
}

func TestReadyzWithoutEventStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{db: true, storePing: errors.New("connection refused")})
	p := problem(t, e.do(req{method: http.MethodGet, path: "/readyz"}), http.StatusServiceUnavailable)
	if p.Type != httpapi.TypeUnavailable || !strings.Contains(p.Title+p.Detail, "event store") {
		t.Errorf("problem = %+v", p)
	}
	e = newEnv(t, options{db: true, storePing: nil})
	if w := e.do(req{method: http.MethodGet, path: "/readyz"}); w.Code != http.StatusOK {
		t.Errorf("readyz with store and database up: %d %s", w.Code, w.Body)
	}
}

func TestRequestAndCorrelationIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	tests := []struct {
		name             string
		header           map[string]string
		wantRID, wantCID string // "" = generated; "=rid" = same as the request ID
	}{
		{"none given", nil, "", "=rid"},
		{"request ID given", map[string]string{"X-Request-ID": "abc-123"}, "abc-123", "=rid"},
		{"both given", map[string]string{"X-Request-ID": "abc-123", "X-Correlation-ID": "flow:7"}, "abc-123", "flow:7"},
		{"insane request ID replaced", map[string]string{"X-Request-ID": "bad id\x7f" + strings.Repeat("x", 200)}, "", "=rid"},
		{"insane correlation ID replaced", map[string]string{"X-Correlation-ID": "<script>"}, "", "=rid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(req{method: http.MethodGet, path: "/healthz", header: tt.header})
			rid, cid := w.Header().Get("X-Request-ID"), w.Header().Get("X-Correlation-ID")
			if tt.wantRID == "" {
				if _, err := uuid.Parse(rid); err != nil {
					t.Errorf("generated request ID %q is not a UUID", rid)
				}
			} else if rid != tt.wantRID {
				t.Errorf("request ID = %q, want %q", rid, tt.wantRID)
			}
			want := tt.wantCID
			if want == "=rid" {
				want = rid
			}
			if cid != want {
				t.Errorf("correlation ID = %q, want %q", cid, want)
			}
		})
	}
}

func TestAccessLogCarriesIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	e.do(req{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Request-ID": "r-1", "X-Correlation-ID": "c-1"}})
	var line map[string]any
	if lines := e.logLines(t, "http request"); len(lines) > 0 {
		line = lines[len(lines)-1]
	}
	for k, want := range map[string]any{"request_id": "r-1", "correlation_id": "c-1", "route": "/healthz", "method": "GET", "status": float64(200)} {
		if line[k] != want {
			t.Errorf("access log %s = %v, want %v (line %v)", k, line[k], want, line)
		}
	}
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	p := problem(t, e.do(req{method: http.MethodGet, path: "/nope"}), http.StatusNotFound)
	if !strings.Contains(p.Detail, "/nope") {
		t.Errorf("detail = %q", p.Detail)
	}
	// Unknown routes under /v1 are 404 too, token or not.
	problem(t, e.do(req{method: http.MethodGet, path: "/v1/nope"}), http.StatusNotFound)
	// A trailing slash is another route, not a redirect.
	problem(t, e.do(req{method: http.MethodGet, path: "/healthz/"}), http.StatusNotFound)

	w := e.do(req{method: http.MethodPost, path: "/healthz"})
	problem(t, w, http.StatusMethodNotAllowed)
	if allow := w.Header().Get("Allow"); allow != "GET" {
		t.Errorf("Allow = %q", allow)
	}
}

func TestMetricsExposure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	e.do(req{method: http.MethodGet, path: "/healthz"})
	e.do(req{method: http.MethodGet, path: "/no/such/" + uuid.NewString()})
	e.do(req{method: "BREW", path: "/healthz"})
	id := uuid.NewString()
	result(t, e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: thingJSON(id)}), http.StatusCreated)
	e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: `{"id":"` + uuid.NewString() + `","fail":"invalid"}`})
	e.do(req{method: http.MethodPost, path: thingPath(schoolA) + "/" + id + "/poke", token: e.adminA()})

	w := e.do(req{method: http.MethodGet, path: "/metrics"})
	if w.Code != http.StatusOK {
		t.Fatalf("metrics: %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`,
		`http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_count{method="other",route="unmatched",status="405"} 1`,
		`http_request_duration_seconds_count{method="POST",route="/v1/schools/:schoolId/things",status="201"} 1`,
		`http_request_duration_seconds_count{method="POST",route="/v1/schools/:schoolId/things/:thingId/poke",status="200"} 1`,
		`commands_total{command="CreateThing",outcome="ok"} 1`,
		`commands_total{command="CreateThing",outcome="invalid"} 1`,
		`commands_total{command="PokeThing",outcome="ok"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/no/such/") {
		t.Error("a raw path leaked into the metrics labels")
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	now := e.clock.Now()
	expired, err := issueAt(now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		auth      string
		wantError string // the error= of WWW-Authenticate; "" for none
	}{
		{"no header", "", ""},
		{"basic scheme", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "invalid_request"},
		{"bearer without token", "Bearer ", "invalid_request"},
		{"garbage token", "Bearer abc.def.ghi", "invalid_token"},
		{"expired", "Bearer " + expired, "invalid_token"},
		{"HS384", "Bearer " + hs384Token(t, now), "invalid_token"},
		{"other secret", "Bearer " + otherSecretToken(t, now), "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(req{method: http.MethodPost, path: thingPath(schoolA), body: thingJSON(uuid.NewString()),
				header: map[string]string{"Authorization": tt.auth}})
			if tt.auth == "" {
				w = e.do(req{method: http.MethodPost, path: thingPath(schoolA), body: thingJSON(uuid.NewString())})
			}
			problem(t, w, http.StatusUnauthorized)
			ch := w.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer realm="edusmarthub"`) || !strings.Contains(ch, tt.wantError) {
				t.Errorf("WWW-Authenticate = %q, want error %q", ch, tt.wantError)
			}
		})
	}
	if e.runs.get() != 0 {
		t.Errorf("the command ran %d times without a valid token", e.runs.get())
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	platform := e.token("root", "", commands.RolePlatformAdmin)
	tests := []struct {
		name   string
		token  string
		path   string
		status int
		field  string
	}{
		{"own school", e.adminA(), thingPath(schoolA), http.StatusCreated, ""},
		{"own school, upper-case UUID", e.adminA(), thingPath(strings.ToUpper(schoolA)), http.StatusCreated, ""},
		{"other school", e.adminA(), thingPath(schoolB), http.StatusForbidden, ""},
		{"platform admin, any school", platform, thingPath(schoolB), http.StatusCreated, ""},
		{"wrong role", e.token("t-1", schoolA, commands.RoleTeacher), thingPath(schoolA), http.StatusForbidden, ""},
		{"guardian", e.token("g-1", schoolA, commands.RoleGuardian), thingPath(schoolA), http.StatusForbidden, ""},
		{"school admin outside schools", e.adminA(), "/v1/tenants", http.StatusForbidden, ""},
		{"platform admin outside schools", platform, "/v1/tenants", http.StatusCreated, ""},
		{"bad school ID", e.adminA(), thingPath("not-a-uuid"), http.StatusBadRequest, "schoolId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(req{method: http.MethodPost, path: tt.path, token: tt.token, body: thingJSON(uuid.NewString())})
			if tt.status < 300 {
				result(t, w, tt.status)
				return
			}
			p := problem(t, w, tt.status)
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
		})
	}
}

func TestCommandResult(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	id := uuid.NewString()
	w := e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: thingJSON(id),
		header: map[string]string{"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}})
	r := result(t, w, http.StatusCreated)
	if r.ID != id || r.Stream != "thing-"+id || r.Version != 1 || r.Position == 0 {
		t.Errorf("result = %+v", r)
	}
	if got := w.Header().Get("ETag"); got != `"1"` {
		t.Errorf("ETag = %s", got)
	}
	if got, want := w.Header().Get("Location"), thingPath(schoolA)+"/"+id; got != want {
		t.Errorf("Location = %s, want %s", got, want)
	}
	recs, err := e.store.ReadStream(context.Background(), r.Stream, 0, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("stored: %v %v", recs, err)
	}
	md := recs[0].Metadata
	if md.SchoolID != schoolA || md.ActorID != "admin-a" || md.ActorRole != "school_admin" ||
		md.RequestID != "req-1" || md.CorrelationID != "corr-1" || md.CausationID == "" {
		t.Errorf("metadata = %+v", md)
	}

	// An update: 200, no Location; If-Match is the expected version.
	poke := thingPath(schoolA) + "/" + id + "/poke"
	w = e.do(req{method: http.MethodPost, path: poke, token: e.adminA(), header: map[string]string{"If-Match": `"1"`}})
	if r := result(t, w, http.StatusOK); r.Version != 2 {
		t.Errorf("after poke: %+v", r)
	}
	if w.Header().Get("Location") != "" || w.Header().Get("ETag") != `"2"` {
		t.Errorf("headers = %v", w.Header())
	}
	w = e.do(req{method: http.MethodPost, path: poke, token: e.adminA(), body: "{}", header: map[string]string{"If-Match": "2"}})
	result(t, w, http.StatusOK)
	p := problem(t, e.do(req{method: http.MethodPost, path: poke, token: e.adminA(), header: map[string]string{"If-Match": `"2"`}}),
		http.StatusConflict)
	if p.Type != httpapi.TypeVersionConflict {
		t.Errorf("stale If-Match: %+v", p)
	}
}

func TestBadInputProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	id := uuid.NewString()
	result(t, e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: thingJSON(id)}), http.StatusCreated)
	poke := thingPath(schoolA) + "/" + id + "/poke"
	tests := []struct {
		name    string
		path    string
		body    string
		header  map[string]string
		status  int
		typ     string
		field   string // "" = no field errors expected
		detail  string // substring of the detail
		ctype   string // Content-Type, if not application/json
		rawBody bool   // send body even if empty
	}{
		{name: "malformed JSON", body: `{"id": "x",}`, status: 400, typ: httpapi.TypeInvalidRequest, detail: "offset"},
		{name: "truncated JSON", body: `{"id": "x"`, status: 400, typ: httpapi.TypeInvalidRequest, detail: "ends early"},
		{name: "wrong type", body: `{"name": 7}`, status: 400, typ: httpapi.TypeInvalidRequest, field: "name", detail: "must be a string, got a number"},
		{name: "wrong nested type", body: `{"preferences": {"maxClassesPerDay": "four"}}`, status: 400, field: "preferences.maxClassesPerDay", detail: "integer between 0 and 255"},
		{name: "number out of range", body: `{"count": 300}`, status: 400, field: "count", detail: "between -128 and 127, got 300"},
		{name: "fraction for integer", body: `{"count": 1.5}`, status: 400, field: "count", detail: "got 1.5"},
		{name: "array expected", body: `{"tags": "a"}`, status: 400, field: "tags", detail: "must be an array, got a string"},
		{name: "unknown field", body: `{"id": "x", "nmae": "typo"}`, status: 400, field: "nmae", detail: "unknown field"},
		{name: "unknown nested field", body: `{"preferences": {"max": 1}}`, status: 400, field: "max", detail: "unknown field"},
		{name: "trailing data", body: `{"id": "x"} {"id": "y"}`, status: 400, detail: "after the JSON object"},
		{name: "trailing garbage", body: `{"id": "x"} ]`, status: 400, detail: "after the JSON object"},
		{name: "empty body", body: "", rawBody: true, status: 400, detail: "empty"},
		{name: "blank body", body: "  \n", status: 400, detail: "empty"},
		{name: "array body", body: `[1]`, status: 400, detail: "JSON object"},
		{name: "null body", body: `null`, status: 400, detail: "JSON object"},
		{name: "not JSON", body: `id=1`, ctype: "application/x-www-form-urlencoded", status: 415, field: "Content-Type"},
		{name: "invalid UUID in body", body: `{"id": "12"}`, status: 400, typ: httpapi.TypeValidation, field: "id"},
		{name: "bad UUID in path", path: thingPath(schoolA) + "/xyz/poke", status: 400, field: "thingId", detail: `"xyz"`},
		{name: "bad If-Match", path: poke, header: map[string]string{"If-Match": `"abc"`}, status: 400, field: "If-Match"},
		{name: "weak If-Match", path: poke, header: map[string]string{"If-Match": `W/"1"`}, status: 400, field: "If-Match"},
		{name: "If-Match list", path: poke, header: map[string]string{"If-Match": `"1", "2"`}, status: 400, field: "If-Match"},
		{name: "body on a no-body command", path: poke, body: `{"x": 1}`, status: 400, field: "x"},
		{name: "domain invalid", body: `{"id": "` + uuid.NewString() + `", "fail": "invalid"}`, status: 400, typ: httpapi.TypeValidation, field: "name", detail: "must not be empty"},
		{name: "domain not found", body: `{"id": "` + uuid.NewString() + `", "fail": "notfound"}`, status: 404, typ: httpapi.TypeNotFound, field: "classId"},
		{name: "domain conflict", body: `{"id": "` + uuid.NewString() + `", "fail": "conflict"}`, status: 409, typ: httpapi.TypeConflict, detail: "class is full"},
		{name: "domain forbidden", body: `{"id": "` + uuid.NewString() + `", "fail": "forbidden"}`, status: 403, typ: httpapi.TypeForbidden},
		{name: "concurrent update", body: `{"id": "` + uuid.NewString() + `", "fail": "concurrent"}`, status: 409, typ: httpapi.TypeVersionConflict},
		{name: "internal error", body: `{"id": "` + uuid.NewString() + `", "fail": "boom"}`, status: 500, typ: httpapi.TypeInternal, detail: "request ID"},
		{name: "panic", body: `{"id": "` + uuid.NewString() + `", "fail": "panic"}`, status: 500, typ: httpapi.TypeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = thingPath(schoolA)
			}
			var body io.Reader
			if tt.body != "" || tt.rawBody {
				body = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest(http.MethodPost, path, body)
			r.Header.Set("Authorization", "Bearer "+e.adminA())
			r.Header.Set("Content-Type", "application/json")
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			p := problem(t, w, tt.status)
			if tt.typ != "" && p.Type != tt.typ {
				t.Errorf("type = %q, want %q", p.Type, tt.typ)
			}
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
			if tt.field == "" && len(p.Errors) != 0 {
				t.Errorf("unexpected field errors %+v", p.Errors)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if strings.Contains(w.Body.String(), "password") || strings.Contains(w.Body.String(), "exploded") {
				t.Errorf("internal detail leaked: %s", w.Body)
			}
		})
	}
	// The server survived the panic and logged the real errors.
	if w := e.do(req{method: http.MethodGet, path: "/healthz"}); w.Code != http.StatusOK {
		t.Errorf("after panic: %d", w.Code)
	}
	for _, want := range []string{"password authentication failed", "handler exploded"} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{bodyLimit: 64})
	big := `{"id":"` + uuid.NewString() + `","name":"` + strings.Repeat("x", 100) + `"}`
	t.Run("declared length", func(t *testing.T) {
		w := e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: big})
		if p := problem(t, w, http.StatusRequestEntityTooLarge); !strings.Contains(p.Detail, "64 bytes") {
			t.Errorf("detail = %q", p.Detail)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, thingPath(schoolA), io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1 // unknown: only reading finds out
		r.Header.Set("Authorization", "Bearer "+e.adminA())
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		problem(t, w, http.StatusRequestEntityTooLarge)
	})
	t.Run("chunked with Idempotency-Key", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, thingPath(schoolA), io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Authorization", "Bearer "+e.adminA())
		r.Header.Set("Idempotency-Key", "k-1")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		problem(t, w, http.StatusRequestEntityTooLarge)
	})
	if e.runs.get() != 0 {
		t.Errorf("the command ran with an oversized body")
	}
	result(t, e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: `{"id":"` + uuid.NewString() + `"}`}), http.StatusCreated)
}

func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	for name, key := range map[string]string{
		"too long":     strings.Repeat("k", 256),
		"control char": "abc\tdef",
		"non-ASCII":    "clé",
		"empty quoted": `""`,
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(req{method: http.MethodPost, path: thingPath(schoolA), token: e.adminA(), body: thingJSON(uuid.NewString()),
				header: map[string]string{"Idempotency-Key": key}})
			p := problem(t, w, http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != "Idempotency-Key" {
				t.Errorf("errors = %+v", p.Errors)
			}
		})
	}
	if e.runs.get() != 0 {
		t.Errorf("the command ran with a bad key")
	}
}

// issueAt issues a school admin token of school A at a given time.
func issueAt(at time.Time, ttl time.Duration) (string, error) {
	return auth.Issue(secret, auth.Claims{Subject: "admin-a", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: schoolA}, ttl, at)
}

func hs384Token(t *testing.T, now time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS384, jwt.MapClaims{
		"sub": "admin-a", "roles": []string{"school_admin"}, "school": schoolA, "iss": auth.Issuer,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func otherSecretToken(t *testing.T, now time.Time) string {
	t.Helper()
	tok, err := auth.Issue([]byte("another-secret-another-secret-another"), auth.Claims{Subject: "admin-a", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: schoolA}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bindJSON serves handlers that are not commands: it answers the problem
// itself and says whether to go on.
func TestBindJSONInPlainHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{bare: true})
	type body struct {
		Name string `json:"name"`
	}
	httpapi.AddSchoolQuery(e.srv, http.MethodPost, "/echo", []commands.Role{commands.RoleSchoolAdmin}, func(c *gin.Context) {
		var b body
		if !httpapi.BindJSON(c, &b) {
			return
		}
		c.JSON(http.StatusOK, b)
	})
	w := e.do(req{method: http.MethodPost, path: "/v1/schools/" + schoolA + "/echo", token: e.adminA(), body: `{"name":"x"}`})
	if w.Code != http.StatusOK || w.Body.String() != `{"name":"x"}` {
		t.Fatalf("echo: %d %s", w.Code, w.Body)
	}
	w = e.do(req{method: http.MethodPost, path: "/v1/schools/" + schoolA + "/echo", token: e.adminA(), body: `{"name":"x","age":3}`})
	if p := problem(t, w, http.StatusBadRequest); len(p.Errors) != 1 || p.Errors[0].Field != "age" {
		t.Errorf("problem = %+v", p)
	}
}
