package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/notify"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookRequest is a request the test receiver got.
type hookRequest struct {
	Header http.Header
	Body   []byte
	Err    error // of notify.Verify
}

// hookServer is a webhook receiver answering with the statuses of
// replies in turn (then 200), and keeping every request.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []hookRequest
	replies  []int
	header   http.Header // added to every non-2xx reply
}

func startHookServer(t *testing.T, replies ...int) *hookServer {
	t.Helper()
	h := &hookServer{replies: replies, header: http.Header{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests = append(h.requests, hookRequest{Header: r.Header.Clone(), Body: body, Err: notify.Verify(hookSecret, r.Header, body)})
		status := http.StatusOK
		if len(h.replies) > 0 {
			status, h.replies = h.replies[0], h.replies[1:]
		}
		hdr := h.header.Clone()
		h.mu.Unlock()
		if status >= 300 {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			http.Error(w, "receiver says "+http.StatusText(status), status)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) got() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.requests...)
}

func hookConfig(h *hookServer, attempts int) *notify.WebhookConfig {
	return &notify.WebhookConfig{URL: h.URL + "/hooks/edusmarthub?token=abc", Secret: hookSecret, MaxAttempts: attempts, Timeout: 5 * time.Second}
}

func TestWebhookPostsASignedCloudEventPerRecipient(t *testing.T) {
	t.Parallel()
	h := startHookServer(t)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 0)})
	e := sentEvent(t, "m1", "Réunion", "Lundi à 8h", teacherAda, guardianCy, adminNone)
	r.handle(t, e)

	reqs := h.got()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2 (the office has no address)", len(reqs))
	}
	ds := r.deliveries(t, "m1")
	seen := map[string]bool{}
	for _, q := range reqs {
		if q.Err != nil {
			t.Errorf("signature: %v", q.Err)
		}
		if ct := q.Header.Get("Content-Type"); ct != notify.WebhookContentType {
			t.Errorf("Content-Type = %q", ct)
		}
		if !strings.HasPrefix(q.Header.Get("webhook-signature"), "v1,") {
			t.Errorf("webhook-signature = %q", q.Header.Get("webhook-signature"))
		}
		var ev notify.WebhookEvent
		if err := json.Unmarshal(q.Body, &ev); err != nil {
			t.Fatalf("body: %v", err)
		}
		n := ev.Data
		key := n.Recipient.Kind + "/" + n.Recipient.ID + "/webhook"
		seen[key] = true
		d, ok := ds[key]
		if !ok {
			t.Fatalf("a request for %s, which has no delivery", key)
		}
		if ev.SpecVersion != "1.0" || ev.Type != notify.WebhookEventType || ev.Source != "/edusmarthub/schools/"+testSchool ||
			ev.ID != d.DeliveryID || q.Header.Get("webhook-id") != d.DeliveryID || ev.Subject != "message-m1" ||
			ev.DataContentType != "application/json" || !ev.Time.Equal(time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)) {
			t.Errorf("envelope = %+v (delivery %s)", ev, d.DeliveryID)
		}
		if n.MessageID != "m1" || n.SchoolID != testSchool || n.EventID != e.ID.String() || n.From != "admin-1" ||
			n.Category != "welcome" || n.Subject != "Réunion" || n.Body != "Lundi à 8h" || n.RelatedTo != "teacher-t-ada" ||
			n.Recipient.Email != d.Address || n.Recipient.Name != d.Name {
			t.Errorf("data = %+v", n)
		}
		if d.Status != notify.StatusSent || d.Attempts != 1 {
			t.Errorf("delivery %s = %+v", key, d)
		}
	}
	if !seen["teacher/t-ada/webhook"] || !seen["guardian/g-cy/webhook"] {
		t.Errorf("requests for %v", seen)
	}

	// A redelivered message does not POST again.
	r.handle(t, e)
	r.clock.Advance(time.Hour)
	r.retryDue(t)
	if got := len(h.got()); got != 2 {
		t.Errorf("after a redelivery the receiver got %d requests, want 2", got)
	}
}

func TestWebhookRetriesServerErrorsWithTheSameID(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, http.StatusServiceUnavailable, http.StatusBadGateway)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 5), RetryBackoff: 10 * time.Second})
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda)
	r.handle(t, e)

	d := r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusPending || d.Attempts != 1 || !strings.Contains(d.LastError, "503 Service Unavailable: receiver says") ||
		strings.Contains(d.LastError, "token=abc") {
		t.Fatalf("after 503: %+v", d)
	}
	r.handle(t, e) // redelivered before the backoff: no request
	if got := len(h.got()); got != 1 {
		t.Fatalf("%d requests before the backoff, want 1", got)
	}
	r.clock.Advance(10 * time.Second)
	r.retryDue(t)
	d = r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusPending || d.Attempts != 2 || !strings.Contains(d.LastError, "502") ||
		!d.NextAttemptAt.Equal(r.clock.Now().Add(20*time.Second)) {
		t.Fatalf("after 502: %+v", d)
	}
	r.clock.Advance(20 * time.Second)
	r.retryDue(t)
	d = r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusSent || d.Attempts != 3 {
		t.Fatalf("after 200: %+v", d)
	}
	reqs := h.got()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, q := range reqs {
		if q.Err != nil || q.Header.Get("webhook-id") != d.DeliveryID {
			t.Errorf("request %d: id %s, signature %v", i, q.Header.Get("webhook-id"), q.Err)
		}
		if string(q.Body) != string(reqs[0].Body) {
			t.Errorf("request %d has another body", i)
		}
	}
	if got := r.counter(t, "edusmarthub_notification_deliveries_total", map[string]string{"channel": "webhook", "outcome": "retry"}); got != 2 {
		t.Errorf("retry counter = %v, want 2", got)
	}
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, http.StatusTooManyRequests)
	h.header.Set("Retry-After", "120")
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 3), RetryBackoff: 10 * time.Second})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	d := r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(r.clock.Now().Add(120*time.Second)) {
		t.Fatalf("after 429: %+v", d)
	}
	r.clock.Advance(119 * time.Second)
	if n := r.retryDue(t); n != 0 {
		t.Errorf("retried %d before Retry-After", n)
	}
	r.clock.Advance(time.Second)
	if n := r.retryDue(t); n != 1 {
		t.Errorf("retried %d at Retry-After, want 1", n)
	}
}

func TestWebhookClientErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, http.StatusBadRequest)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 5)})
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda)
	r.handle(t, e)
	d := r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "400 Bad Request") {
		t.Fatalf("after 400: %+v", d)
	}
	r.clock.Advance(time.Hour)
	r.retryDue(t)
	r.handle(t, e)
	if got := len(h.got()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, 500, 500, 500, 500, 500)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 3), RetryBackoff: time.Second, MaxRetryBackoff: time.Second})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	for range 5 {
		r.clock.Advance(time.Second)
		r.retryDue(t)
	}
	d := r.deliveries(t, "m1")["teacher/t-ada/webhook"]
	if d.Status != notify.StatusFailed || d.Attempts != 3 || !strings.Contains(d.LastError, "500") {
		t.Fatalf("delivery = %+v", d)
	}
	if got := len(h.got()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if got := r.counter(t, "edusmarthub_notification_deliveries_total", map[string]string{"channel": "webhook", "outcome": "failed"}); got != 1 {
		t.Errorf("failed counter = %v, want 1", got)
	}
}

func TestWebhookConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (notify.WebhookConfig{URL: "https://hooks.example.org/x", Secret: "s"}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	err := (notify.WebhookConfig{URL: "ftp://x", Secret: "whsec_!!", MaxAttempts: -2}).Validate()
	for _, w := range []string{"not an http(s) URL", "base64", "max attempts"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
	if err := (notify.WebhookConfig{URL: "https://hooks.example.org/x"}).Validate(); err == nil || !strings.Contains(err.Error(), "secret is required") {
		t.Errorf("no secret: %v", err)
	}
}
