package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/internal/config"
	"github.com/edusmarthub/edusmarthub/sagas"
)

func TestSagaSettingsAndDeliveries(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(map[string]string{
		"EDUSMARTHUB_INTERVENTION_FOLLOW_UP": "72h",
		"EDUSMARTHUB_LESSONS_PER_WEEK":       "3",
		"EDUSMARTHUB_SMTP_HOST":              "smtp.example",
		"EDUSMARTHUB_SMTP_FROM":              "EduSmartHub <noreply@school.example>",
		"EDUSMARTHUB_SMTP_USERNAME":          "mailer",
		"EDUSMARTHUB_SMTP_PASSWORD":          "pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := sagaSettings(cfg)
	def := sagas.DefaultSettings()
	if s.InterventionFollowUp != 72*time.Hour || s.LessonsPerWeek != 3 || s.PeriodsPerDay != def.PeriodsPerDay {
		t.Errorf("settings = %+v", s)
	}
	smtp, hook := deliveryConfigs(cfg)
	if smtp == nil || hook != nil || smtp.Host != "smtp.example" || smtp.Port != 0 || smtp.TLS != "starttls" ||
		smtp.Username != "mailer" || smtp.Password != "pw" || smtp.From != cfg.SMTPFrom {
		t.Errorf("smtp %+v, webhook %+v", smtp, hook)
	}
	if err := smtp.Validate(); err != nil {
		t.Errorf("the mapped SMTP settings do not validate: %v", err)
	}
	if smtp, hook := deliveryConfigs(config.Config{}); smtp != nil || hook != nil {
		t.Error("deliveries configured from nothing")
	}
}

// TestServeRunsTheWorkflows: serve consumes the events into the
// workflows and answers their status, to a school's admins only.
func TestServeRunsTheWorkflows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Kafka")
	}
	environ := serveEnviron(t)
	srv := startServe(t, environ)
	admin := mintToken(t, environ, "--role", "platform_admin")
	school := postCommand(t, srv, admin, "/v1/schools", `{"name": "Hillside Primary", "timezone": "Europe/London"}`)
	other := postCommand(t, srv, admin, "/v1/schools", `{"name": "Riverside", "timezone": "Europe/London"}`)
	principal := mintToken(t, environ, "--role", "school_admin", "--school", school.ID)
	stranger := mintToken(t, environ, "--role", "school_admin", "--school", other.ID)
	teacher := postCommand(t, srv, principal, "/v1/schools/"+school.ID+"/teachers",
		`{"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": ["mathematics"],
		  "preferences": {"preferredTimeSlots": ["morning"], "maxClassesPerDay": 4}}`)

	id := sagas.WorkflowID("teacher_onboarding", teacher.ID)
	path := "/v1/schools/" + school.ID + "/workflows/" + id
	var w sagas.Workflow
	waitUntil(t, time.Minute, func() (bool, string) {
		code, body := srv.do(t, http.MethodGet, path, principal, "")
		if code != http.StatusOK {
			return false, string(body)
		}
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatal(err)
		}
		return w.State.Finished(), string(body)
	})
	t.Logf("teacher_onboarding %s at %q: %s", w.State, w.Step, w.Reason)
	if w.Type != "teacher_onboarding" || w.BusinessID != teacher.ID || w.SchoolID != school.ID || len(w.Steps) == 0 {
		t.Errorf("workflow = %+v", w)
	}
	var page sagas.WorkflowPage
	code, body := srv.do(t, http.MethodGet, "/v1/schools/"+school.ID+"/workflows?type=teacher_onboarding", principal, "")
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("list: %d %s", code, body)
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{path, stranger, http.StatusForbidden},
		{"/v1/schools/" + other.ID + "/workflows/" + id, stranger, http.StatusNotFound},
		{"/v1/workflows/" + id, principal, http.StatusForbidden},
		{"/v1/workflows/" + id, admin, http.StatusOK},
	} {
		if code, body := srv.do(t, http.MethodGet, c.path, c.token, ""); code != c.want {
			t.Errorf("GET %s: %d, want %d: %s", c.path, code, c.want, body)
		}
	}
}

// TestServeWithTheWorkflowsOff: EDUSMARTHUB_WORKFLOWS=off serves the API
// and the read models but runs no workflow: a new teacher is in the read
// models, and no teacher_onboarding starts for them.
func TestServeWithTheWorkflowsOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Kafka")
	}
	environ := serveEnviron(t)
	environ["EDUSMARTHUB_WORKFLOWS"] = "off"
	srv := startServe(t, environ)
	logs := srv.logs.String()
	if !strings.Contains(logs, "workflows off") || strings.Contains(logs, `"msg":"workflows started"`) {
		t.Errorf("serve's log does not say the workflows are off:\n%s", logs)
	}
	admin := mintToken(t, environ, "--role", "platform_admin")
	school := postCommand(t, srv, admin, "/v1/schools", `{"name": "Hillside Primary", "timezone": "Europe/London"}`)
	principal := mintToken(t, environ, "--role", "school_admin", "--school", school.ID)
	teacher := postCommand(t, srv, principal, "/v1/schools/"+school.ID+"/teachers",
		`{"name": "Ada Lovelace", "email": "ada@hillside.example", "subjects": ["mathematics"],
		  "preferences": {"preferredTimeSlots": ["morning"], "maxClassesPerDay": 4}}`)
	// The read models are fed: the teacher shows once the projections
	// consumed the event (read-your-writes waits for it).
	// A fresh serve's consumers may still be joining their groups: a 503
	// (not applied yet, Retry-After) is asked again, as a client would.
	path := fmt.Sprintf("/v1/schools/%s/teachers/%s?after=%s:%d", school.ID, teacher.ID, teacher.Stream, teacher.Version)
	waitUntil(t, time.Minute, func() (bool, string) {
		code, body := srv.do(t, http.MethodGet, path, principal, "")
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return code == http.StatusOK, fmt.Sprintf("GET %s: %d %s", path, code, body)
	})
	id := sagas.WorkflowID("teacher_onboarding", teacher.ID)
	if code, body := srv.do(t, http.MethodGet, "/v1/schools/"+school.ID+"/workflows/"+id, principal, ""); code != http.StatusNotFound {
		t.Errorf("teacher_onboarding with the workflows off: %d %s, want 404", code, body)
	}
}
