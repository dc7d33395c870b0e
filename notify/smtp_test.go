package notify_test

import (
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/notify"
)

func smtpConfig(srv *smtpServer, mode string) *notify.SMTPConfig {
	return &notify.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), Username: srv.user, Password: srv.password,
		From: "EduSmartHub <no-reply@school.example.org>", TLS: mode, Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: testCert.roots, MinVersion: tls.VersionTLS12},
	}
}

func TestSMTPDeliversEachRecipientOnceOverStartTLSWithAuth(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true, User: "mailer", Password: "s3cret"})
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: smtpConfig(srv, notify.TLSStartTLS)})

	subject := "Bienvenue à l'école — semaine 1"
	body := "Dear Ada,\n\nWelcome — «Mathématiques» starts on Monday.\n.a line that starts with a dot\n" +
		strings.Repeat("a long line ", 20) + "\nend\n"
	e := sentEvent(t, "m1", subject, body, teacherAda, teacherBen, guardianCy, adminNone)
	r.handle(t, e)

	mails := srv.received()
	if len(mails) != 3 {
		t.Fatalf("got %d mails, want 3 (the office has no address)", len(mails))
	}
	byTo := map[string]receivedMail{}
	for _, m := range mails {
		if !m.TLS || m.AuthUser != "mailer" || m.From != "no-reply@school.example.org" || len(m.To) != 1 {
			t.Errorf("mail to %v: TLS %v, auth %q, from %q", m.To, m.TLS, m.AuthUser, m.From)
		}
		byTo[m.To[0]] = m
	}
	for _, want := range []struct {
		rcpt       string
		kind, id   string
		email, nam string
	}{
		{"ada@school.example.org", "teacher", "t-ada", "ada@school.example.org", "Ada Lovelace"},
		{"ben@school.example.org", "teacher", "t-ben", "ben@school.example.org", "Benoît Mandelbrot"},
		{"cy@family.example.org", "guardian", "g-cy", "cy@family.example.org", "Cy"},
	} {
		m, ok := byTo[want.rcpt]
		if !ok {
			t.Errorf("no mail to %s", want.rcpt)
			continue
		}
		msg, err := mail.ReadMessage(strings.NewReader(m.Data))
		if err != nil {
			t.Fatalf("mail to %s does not parse: %v\n%s", want.rcpt, err, m.Data)
		}
		h := msg.Header
		dec := new(mime.WordDecoder)
		if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != subject {
			t.Errorf("Subject = %q (%v), want %q", got, err, subject)
		}
		to, err := h.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != want.email || to[0].Name != want.nam {
			t.Errorf("To = %v (%v), want %s <%s>", to, err, want.nam, want.email)
		}
		from, err := h.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != "no-reply@school.example.org" || from[0].Name != "EduSmartHub" {
			t.Errorf("From = %v (%v)", from, err)
		}
		if got, wantID := h.Get("Message-Id"), notify.MessageID("m1", want.kind, want.id, "school.example.org"); got != wantID {
			t.Errorf("Message-ID = %q, want %q", got, wantID)
		}
		if got, err := h.Date(); err != nil || !got.Equal(time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)) {
			t.Errorf("Date = %v (%v)", got, err)
		}
		for k, v := range map[string]string{
			"Mime-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
			"Auto-Submitted": "auto-generated", "X-Edusmarthub-Message-Id": "m1", "X-Edusmarthub-School-Id": testSchool,
			"X-Edusmarthub-Category": "welcome",
		} {
			if h.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, h.Get(k), v)
			}
		}
		for _, l := range strings.Split(m.Data, "\n") {
			if len(l) > 998 {
				t.Errorf("a line of %d characters", len(l))
			}
		}
		got, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil || strings.ReplaceAll(string(got), "\r\n", "\n") != body {
			t.Errorf("body = %q (%v), want %q", got, err, body)
		}
	}

	ds := r.deliveries(t, "m1")
	if len(ds) != 3 {
		t.Fatalf("got %d deliveries, want 3: %v", len(ds), ds)
	}
	for k, d := range ds {
		if d.Status != notify.StatusSent || d.Attempts != 1 || d.SentAt == nil || d.LastError != "" || d.NextAttemptAt != nil {
			t.Errorf("%s: %+v", k, d)
		}
	}
	if got := r.counter(t, "edusmarthub_notification_deliveries_total", map[string]string{"channel": "smtp", "outcome": "sent"}); got != 3 {
		t.Errorf("sent counter = %v, want 3", got)
	}
	if got := r.counter(t, "edusmarthub_notification_unresolved_recipients_total", map[string]string{"kind": "admin"}); got != 1 {
		t.Errorf("unresolved admin counter = %v, want 1", got)
	}

	// Kafka delivers the message again, and later the retry loop runs:
	// nothing is sent twice.
	r.handle(t, e)
	r.clock.Advance(24 * time.Hour)
	if n := r.retryDue(t); n != 0 {
		t.Errorf("RetryDue attempted %d deliveries, want 0", n)
	}
	if got := len(srv.received()); got != 3 {
		t.Errorf("after a redelivery the server has %d mails, want 3", got)
	}
}

func TestSMTPImplicitTLSWithAuthLogin(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{Implicit: true, User: "mailer", Password: "pw", Mechs: "LOGIN"})
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: smtpConfig(srv, notify.TLSImplicit)})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	mails := srv.received()
	if len(mails) != 1 || !mails[0].TLS || mails[0].AuthUser != "mailer" {
		t.Fatalf("mails = %+v", mails)
	}
	if d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]; d.Status != notify.StatusSent {
		t.Errorf("delivery = %+v", d)
	}
}

func TestSMTPRejectedRecipientIsFailedWithTheReason(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true})
	srv.setRcpt(func(addr string) string {
		if addr == "ben@school.example.org" {
			return "550 5.1.1 <ben@school.example.org>: mailbox unavailable"
		}
		return ""
	})
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: smtpConfig(srv, notify.TLSStartTLS)})
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda, teacherBen)
	r.handle(t, e)

	ds := r.deliveries(t, "m1")
	if d := ds["teacher/t-ada/smtp"]; d.Status != notify.StatusSent {
		t.Errorf("ada: %+v", d)
	}
	ben := ds["teacher/t-ben/smtp"]
	if ben.Status != notify.StatusFailed || ben.Attempts != 1 || ben.FailedAt == nil || ben.NextAttemptAt != nil ||
		!strings.Contains(ben.LastError, "RCPT TO: 550 5.1.1 <ben@school.example.org>: mailbox unavailable") {
		t.Errorf("ben: %+v", ben)
	}
	if got := r.counter(t, "edusmarthub_notification_deliveries_total", map[string]string{"channel": "smtp", "outcome": "failed"}); got != 1 {
		t.Errorf("failed counter = %v, want 1", got)
	}
	// A failed delivery is not tried again, by the retry loop or a
	// redelivery.
	r.clock.Advance(time.Hour)
	if n := r.retryDue(t); n != 0 {
		t.Errorf("RetryDue attempted %d", n)
	}
	r.handle(t, e)
	if got := r.deliveries(t, "m1")["teacher/t-ben/smtp"]; got.Attempts != 1 || got.Status != notify.StatusFailed {
		t.Errorf("ben after a redelivery: %+v", got)
	}
	if got := len(srv.received()); got != 1 {
		t.Errorf("server has %d mails, want 1", got)
	}
}

func TestSMTPTemporaryRejectionIsRetriedAfterTheBackoff(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true})
	refusals := 1
	srv.setRcpt(func(string) string {
		if refusals > 0 {
			refusals--
			return "451 4.3.0 greylisted, try again later"
		}
		return ""
	})
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: smtpConfig(srv, notify.TLSStartTLS), RetryBackoff: time.Minute})
	e := sentEvent(t, "m1", "Hello", "Hi", teacherAda)
	start := r.clock.Now()
	r.handle(t, e)

	d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]
	if d.Status != notify.StatusPending || d.Attempts != 1 || !strings.Contains(d.LastError, "451 4.3.0 greylisted") ||
		d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("after the first attempt: %+v", d)
	}
	// Not before its time, neither by the loop nor by a redelivery.
	if n := r.retryDue(t); n != 0 {
		t.Errorf("RetryDue before the backoff attempted %d", n)
	}
	r.handle(t, e)
	if got := r.deliveries(t, "m1")["teacher/t-ada/smtp"].Attempts; got != 1 {
		t.Errorf("a redelivery made attempt %d before the backoff", got)
	}

	r.clock.Advance(time.Minute)
	if n := r.retryDue(t); n != 1 {
		t.Errorf("RetryDue attempted %d, want 1", n)
	}
	d = r.deliveries(t, "m1")["teacher/t-ada/smtp"]
	if d.Status != notify.StatusSent || d.Attempts != 2 || d.LastError != "" {
		t.Errorf("after the retry: %+v", d)
	}
	if got := len(srv.received()); got != 1 {
		t.Errorf("server has %d mails, want 1", got)
	}
	if got := r.counter(t, "edusmarthub_notification_deliveries_total", map[string]string{"channel": "smtp", "outcome": "retry"}); got != 1 {
		t.Errorf("retry counter = %v, want 1", got)
	}
}

func TestSMTPUnreachableServerFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{})
	cfg := smtpConfig(srv, notify.TLSNone)
	cfg.MaxAttempts = 3
	srv.close() // nobody listens on the port any more
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: cfg, RetryBackoff: time.Minute})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))

	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute} { // doubling backoff
		d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]
		if d.Status != notify.StatusPending || d.Attempts != i+1 || d.NextAttemptAt == nil ||
			!d.NextAttemptAt.Equal(r.clock.Now().Add(wait)) || !strings.Contains(d.LastError, "connect") {
			t.Fatalf("after attempt %d: %+v", i+1, d)
		}
		r.clock.Advance(wait)
		if n := r.retryDue(t); n != 1 {
			t.Fatalf("RetryDue attempted %d, want 1", n)
		}
	}
	d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]
	if d.Status != notify.StatusFailed || d.Attempts != 3 || !strings.Contains(d.LastError, "connect") {
		t.Fatalf("after the last attempt: %+v", d)
	}
	r.clock.Advance(time.Hour)
	if n := r.retryDue(t); n != 0 {
		t.Errorf("RetryDue attempted %d after the last attempt", n)
	}
}

func TestSMTPNeverFallsBackToPlainText(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{}) // no STARTTLS offered
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: smtpConfig(srv, notify.TLSStartTLS)})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]
	if d.Status != notify.StatusPending || !strings.Contains(d.LastError, "does not offer STARTTLS") {
		t.Errorf("delivery = %+v", d)
	}
	if got := len(srv.received()); got != 0 {
		t.Errorf("%d mails went out in plain text", got)
	}
}

func TestSMTPBadCredentialsFail(t *testing.T) {
	t.Parallel()
	srv := startSMTPServer(t, smtpServerOptions{StartTLS: true, User: "mailer", Password: "right"})
	cfg := smtpConfig(srv, notify.TLSStartTLS)
	cfg.Password = "wrong"
	r := newRig(t, nil, notify.DispatcherConfig{SMTP: cfg})
	r.handle(t, sentEvent(t, "m1", "Hello", "Hi", teacherAda))
	d := r.deliveries(t, "m1")["teacher/t-ada/smtp"]
	if d.Status != notify.StatusFailed || !strings.Contains(d.LastError, "AUTH: 535") {
		t.Errorf("delivery = %+v", d)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	t.Parallel()
	ok := notify.SMTPConfig{Host: "smtp.example.org", From: "School <no-reply@example.org>", Username: "u", Password: "p"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	local := notify.SMTPConfig{Host: "127.0.0.1", From: "a@example.org", TLS: "none", Username: "u"}
	if err := local.Validate(); err != nil {
		t.Errorf("plain text to a loopback relay: %v", err)
	}
	for name, tc := range map[string]struct {
		cfg  notify.SMTPConfig
		want []string
	}{
		"everything wrong": {notify.SMTPConfig{Port: 70000, TLS: "ssl", MaxAttempts: -1},
			[]string{"host is required", "port 70000", "from", `tls "ssl"`, "max attempts"}},
		"credentials in plain text": {notify.SMTPConfig{Host: "smtp.example.org", From: "a@example.org", TLS: "none", Username: "u"},
			[]string{"plain text"}},
	} {
		err := tc.cfg.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not mention %q", name, err, w)
			}
		}
	}
}
