package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/notify"
)

func countDeliveries(t *testing.T, r *rig) int {
	t.Helper()
	var n int
	if err := r.pool.QueryRow(context.Background(), `SELECT count(*) FROM notification_deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHandleIgnoresOtherEventsAndRejectsInvalidOnes(t *testing.T) {
	t.Parallel()
	h := startHookServer(t)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 0)})
	ctx := context.Background()
	other := sentEvent(t, "m1", "Hello", "Hi", teacherAda)
	other.Type = "teacher.created.v1"
	if err := r.d.Handle(ctx, other); err != nil {
		t.Errorf("another event type: %v", err)
	}
	bad := sentEvent(t, "m2", "Hello", "Hi", teacherAda)
	bad.Data = []byte(`{"messageId": 7`)
	if err := r.d.Handle(ctx, bad); !errors.Is(err, notify.ErrInvalidEvent) {
		t.Errorf("undecodable event: %v, want ErrInvalidEvent", err)
	}
	if n := countDeliveries(t, r); n != 0 || len(h.got()) != 0 {
		t.Errorf("%d deliveries, %d requests", n, len(h.got()))
	}
}

func TestAddressBookFailureIsReturnedAndNothingIsRecorded(t *testing.T) {
	t.Parallel()
	h := startHookServer(t)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 0)})
	r.book.err = errLookup
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda, guardianCy)
	if err := r.d.Handle(context.Background(), e); !errors.Is(err, errLookup) {
		t.Fatalf("Handle = %v, want the lookup's error", err)
	}
	if n := countDeliveries(t, r); n != 0 {
		t.Fatalf("%d deliveries recorded", n)
	}
	// Kafka retries the message once the directory is back.
	r.book.mu.Lock()
	r.book.err = nil
	r.book.mu.Unlock()
	r.handle(t, e)
	if got := len(h.got()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestRecipientsWithoutAddressAreSkippedOnEveryChannel(t *testing.T) {
	t.Parallel()
	h := startHookServer(t)
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true})
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 0), SMTP: smtpConfig(srv, notify.TLSStartTLS)})
	r.handle(t, sentEvent(t, "m1", "Office", "For the office only", adminNone))
	if n := countDeliveries(t, r); n != 0 || len(h.got()) != 0 || len(srv.received()) != 0 {
		t.Errorf("%d deliveries, %d requests, %d mails", n, len(h.got()), len(srv.received()))
	}
	if got := r.d.Channels(); strings.Join(got, ",") != "smtp,webhook" {
		t.Errorf("Channels = %v", got)
	}
}

// Kafka may hand the same message to two replicas at once (a rebalance)
// while the retry loop runs: every recipient still gets one e-mail and one
// POST.
func TestConcurrentRedeliveriesSendOnce(t *testing.T) {
	t.Parallel()
	h := startHookServer(t)
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true})
	pool := pgtest.NewPool(t)
	cfg := notify.DispatcherConfig{Webhook: hookConfig(h, 0), SMTP: smtpConfig(srv, notify.TLSStartTLS)}
	replicas := []*rig{newRig(t, pool, cfg), newRig(t, pool, cfg), newRig(t, pool, cfg)}
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda, teacherBen, guardianCy)
	var wg sync.WaitGroup
	for i := range 6 {
		r := replicas[i%len(replicas)]
		wg.Go(func() {
			if err := r.d.Handle(context.Background(), e); err != nil {
				t.Error(err)
			}
			if _, err := r.d.RetryDue(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(srv.received()); got != 3 {
		t.Errorf("%d mails, want 3", got)
	}
	if got := len(h.got()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	for k, d := range replicas[0].deliveries(t, "m1") {
		if d.Status != notify.StatusSent || d.Attempts != 1 {
			t.Errorf("%s: %+v", k, d)
		}
	}
}

// A dispatcher that dies during an attempt leaves its row leased; another
// one takes it when the lease has passed.
func TestAnAbandonedAttemptIsTakenAgainAfterItsLease(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, http.StatusServiceUnavailable)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 5), RetryBackoff: time.Second})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	r.clock.Advance(time.Second)
	// As a claim of attempt 2 whose dispatcher then died would leave it.
	if _, err := r.pool.Exec(context.Background(), `UPDATE notification_deliveries SET attempts = 2, lease_until = $1`,
		r.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := r.retryDue(t); n != 0 {
		t.Fatalf("RetryDue took a leased delivery (%d)", n)
	}
	r.clock.Advance(10 * time.Minute)
	if n := r.retryDue(t); n != 1 {
		t.Fatalf("RetryDue attempted %d after the lease, want 1", n)
	}
	if d := r.deliveries(t, "m1")["teacher/t-ada/webhook"]; d.Status != notify.StatusSent || d.Attempts != 3 {
		t.Errorf("delivery = %+v", d)
	}
}

func TestRunRetriesInTheBackground(t *testing.T) {
	t.Parallel()
	h := startHookServer(t, http.StatusInternalServerError)
	r := newRig(t, nil, notify.DispatcherConfig{Webhook: hookConfig(h, 5), RetryBackoff: time.Minute, Tick: 10 * time.Millisecond})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.d.Run(ctx) }()
	r.clock.Advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for r.deliveries(t, "m1")["teacher/t-ada/webhook"].Status != notify.StatusSent {
		if time.Now().After(deadline) {
			t.Fatalf("not sent: %+v", r.deliveries(t, "m1"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if got := len(h.got()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestNewDispatcherReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := notify.NewDispatcher(notify.DispatcherConfig{Webhook: &notify.WebhookConfig{URL: "nope"}})
	for _, w := range []string{"no database pool", "no address book", "url", "secret"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
	_, err = notify.NewDispatcher(notify.DispatcherConfig{})
	if err == nil || !strings.Contains(err.Error(), "no delivery channel") {
		t.Errorf("no channel: %v", err)
	}
}
