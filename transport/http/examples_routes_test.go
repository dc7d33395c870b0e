package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICommandExamples: every command operation documents its body
// with an example (unless it takes none), and the example is valid against
// the document itself. TestCommandWalkthrough sends the same examples to
// the server.
func TestOpenAPICommandExamples(t *testing.T) {
	t.Parallel()
	doc, _ := spec(t)
	// Path parameters as a client would fill them.
	fill := map[string]string{
		"subject": "mathematics", "date": "2026-03-02", "period": "1",
	}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			command, ok := op.Extensions["x-command"].(string)
			if !ok {
				continue
			}
			n++
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				t.Errorf("%s %s (%s): no request body documented", method, path, command)
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Errorf("%s %s (%s): no application/json body schema", method, path, command)
				continue
			}
			if strings.HasSuffix(mt.Schema.Ref, "/EmptyRequest") {
				continue
			}
			if mt.Example == nil {
				t.Errorf("%s %s (%s): no example body", method, path, command)
				continue
			}
			target := param.ReplaceAllStringFunc(path, func(m string) string {
				name := m[1 : len(m)-1]
				if v, ok := fill[name]; ok {
					return v
				}
				return "0f8fad5b-d9cb-469f-a165-70867728950e" // every other parameter is an ID
			})
			body, err := json.Marshal(mt.Example)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(method, target, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer x")
			if err := validateRequest(t, r); err != nil {
				t.Errorf("%s %s (%s): the example does not match the document: %v", method, path, command, err)
			}
		}
	}
	if n < 24 {
		t.Errorf("only %d command operations are documented with x-command", n)
	}
}
