package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	httpapi "github.com/edusmarthub/edusmarthub/transport/http"
)

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// spec is the served OpenAPI document, loaded and validated once.
func spec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		// "uuid" is what the server accepts: any version, hyphenated.
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(
			`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(httpapi.OpenAPI())
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return specDoc, specRouter
}

// checkRequest validates an example request against the OpenAPI document:
// its path, method, parameters, headers and body must be what the document
// describes. Route tests call it on the requests they send; r's body is
// left readable.
func checkRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if err := validateRequest(t, r); err != nil {
		t.Errorf("%s %s does not match openapi.json: %v", r.Method, r.URL, err)
	}
}

// checkResponse validates the response w gave to r against the document.
func checkResponse(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	_, router := spec(t)
	route, params, err := router.FindRoute(r)
	if err != nil {
		t.Errorf("%s %s: no such operation in openapi.json: %v", r.Method, r.URL, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("response %d to %s %s does not match openapi.json: %v", w.Code, r.Method, r.URL, err)
	}
}

func validateRequest(t *testing.T, r *http.Request) error {
	t.Helper()
	_, router := spec(t)
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			t.Fatal(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		// Tokens are the server's business; the document only says one is needed.
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return err
}

func TestOpenAPIDocumentIsValidAndServed(t *testing.T) {
	t.Parallel()
	spec(t)
	e := newEnv(t, options{bare: true})
	w := e.do(req{method: http.MethodGet, path: "/openapi.json"})
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), httpapi.OpenAPI()) {
		t.Fatalf("GET /openapi.json: %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestOpenAPICoversEveryRoute: every route the server has is documented
// with its method, and every documented operation is a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc, _ := spec(t)
	e := newEnv(t, options{bare: true})
	routed := map[string]bool{}
	for _, r := range httpapi.Routes(e.srv) {
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		routed[r.Method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("route %s %s is not in openapi.json (as %s)", r.Method, r.Path, path)
			continue
		}
		if item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s: openapi.json has the path but not the method", r.Method, r.Path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routed[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is no route", method, path)
			}
		}
		// Path parameters declared match the template's.
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			for method, op := range item.Operations() {
				if p := op.Parameters.GetByInAndName("path", m[1]); p == nil && item.Parameters.GetByInAndName("path", m[1]) == nil {
					t.Errorf("%s %s does not declare path parameter %s", method, path, m[1])
				}
			}
		}
	}
}

func TestCheckRequestHelper(t *testing.T) {
	t.Parallel()
	base := "/v1/schools/" + schoolA + "/streams/teacher-1/events"
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{base, true},
		{base + "?after=3&limit=50", true},
		{base + "?limit=5000", false},
		{base + "?after=-1", false},
		{"/v1/schools/not-a-uuid/streams/teacher-1/events", false},
		{"/v1/undocumented", false},
	} {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		r.Header.Set("Authorization", "Bearer x")
		if err := validateRequest(t, r); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.target, err, tt.ok)
		}
	}
	if !strings.Contains(string(httpapi.OpenAPI()), `"openapi": "3.0.3"`) {
		t.Error("not an OpenAPI 3.0 document")
	}
}
