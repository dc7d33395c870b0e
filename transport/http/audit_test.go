package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

type eventPage struct {
	Events []struct {
		ID         string              `json:"id"`
		Stream     string              `json:"stream"`
		Version    uint64              `json:"version"`
		Position   uint64              `json:"position"`
		Type       string              `json:"type"`
		Data       json.RawMessage     `json:"data"`
		Metadata   eventstore.Metadata `json:"metadata"`
		RecordedAt string              `json:"recordedAt"`
	} `json:"events"`
	Next *uint64 `json:"next"`
}

func seed(t *testing.T, store eventstore.Store, stream, school string, n int) {
	t.Helper()
	for i := range n {
		_, err := store.Append(context.Background(), stream, eventstore.Any(), []eventstore.EventData{{
			ID: uuid.New(), Type: "teacher.renamed.v1", Data: fmt.Appendf(nil, `{"n":%d}`, i+1),
			Metadata: eventstore.Metadata{SchoolID: school, ActorID: "admin"},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditRead(t *testing.T) {
	t.Parallel()
	testAuditRead(t, newEnv(t, options{bare: true}))
}

func testAuditRead(t *testing.T, e *env) {
	own, other := "teacher-"+uuid.NewString(), "teacher-"+uuid.NewString()
	seed(t, e.store, own, schoolA, 3)
	seed(t, e.store, other, schoolB, 2)
	platform := e.token("root", "", commands.RolePlatformAdmin)
	events := func(school, stream, query string) string {
		return "/v1/schools/" + school + "/streams/" + stream + "/events" + query
	}
	// get sends a request; the ones meant to be valid are checked against
	// the document, and every response is.
	get := func(tok, target string, valid bool) (*http.Request, *httptest.ResponseRecorder) {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if valid {
			checkRequest(t, r)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		checkResponse(t, r, w)
		return r, w
	}
	page := func(w *httptest.ResponseRecorder) eventPage {
		t.Helper()
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var p eventPage
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("whole stream", func(t *testing.T) {
		_, w := get(e.adminA(), events(schoolA, own, ""), true)
		p := page(w)
		if len(p.Events) != 3 || p.Next != nil {
			t.Fatalf("page = %+v", p)
		}
		ev := p.Events[0]
		if ev.Stream != own || ev.Version != 1 || ev.Type != "teacher.renamed.v1" || string(ev.Data) != `{"n":1}` ||
			ev.Metadata.SchoolID != schoolA || ev.Position == 0 || ev.RecordedAt == "" {
			t.Errorf("event = %+v", ev)
		}
	})
	t.Run("paged", func(t *testing.T) {
		_, w := get(e.adminA(), events(schoolA, own, "?limit=2"), true)
		p := page(w)
		if len(p.Events) != 2 || p.Next == nil || *p.Next != 2 {
			t.Fatalf("first page = %+v", p)
		}
		_, w = get(e.adminA(), events(schoolA, own, "?limit=2&after=2"), true)
		p = page(w)
		if len(p.Events) != 1 || p.Events[0].Version != 3 || p.Next != nil {
			t.Fatalf("second page = %+v", p)
		}
		_, w = get(e.adminA(), events(schoolA, own, "?after=9"), true)
		if p = page(w); len(p.Events) != 0 || p.Next != nil {
			t.Fatalf("past the end = %+v", p)
		}
	})
	t.Run("platform admin", func(t *testing.T) {
		_, w := get(platform, events(schoolB, other, ""), true)
		if p := page(w); len(p.Events) != 2 {
			t.Fatalf("page = %+v", p)
		}
	})
	for _, tt := range []struct {
		name, tok, target string
		status            int
		field             string
	}{
		{"another school's stream", e.adminA(), events(schoolA, other, ""), 404, ""},
		{"another school's stream past its end", e.adminA(), events(schoolA, other, "?after=7"), 404, ""},
		{"platform admin, wrong school in path", platform, events(schoolA, other, ""), 404, ""},
		{"missing stream", e.adminA(), events(schoolA, "teacher-nope", ""), 404, ""},
		{"missing stream after", e.adminA(), events(schoolA, "teacher-nope", "?after=1"), 404, ""},
		{"not my school", e.adminA(), events(schoolB, other, ""), 403, ""},
		{"teacher", e.token("t", schoolA, commands.RoleTeacher), events(schoolA, own, ""), 403, ""},
		{"limit zero", e.adminA(), events(schoolA, own, "?limit=0"), 400, "limit"},
		{"limit too big", e.adminA(), events(schoolA, own, "?limit=1001"), 400, "limit"},
		{"limit not a number", e.adminA(), events(schoolA, own, "?limit=ten"), 400, "limit"},
		{"negative after", e.adminA(), events(schoolA, own, "?after=-1"), 400, "after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, w := get(tt.tok, tt.target, tt.status != 400)
			p := problem(t, w, tt.status)
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
		})
	}
}
