package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// smtpChannel sends each delivery as its own e-mail (one recipient per
// message, so one bad address fails only its own delivery), with
// net/smtp.
type smtpChannel struct {
	cfg    SMTPConfig
	from   *mail.Address
	domain string // of From: the Message-IDs' right-hand side
}

func newSMTPChannel(cfg SMTPConfig) (*smtpChannel, error) {
	cfg.setDefaults()
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	domain := "edusmarthub.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 && i+1 < len(from.Address) {
		domain = from.Address[i+1:]
	}
	return &smtpChannel{cfg: cfg, from: from, domain: domain}, nil
}

func (s *smtpChannel) name() string           { return ChannelSMTP }
func (s *smtpChannel) maxAttempts() int       { return s.cfg.MaxAttempts }
func (s *smtpChannel) timeout() time.Duration { return s.cfg.Timeout }

func (s *smtpChannel) deliver(ctx context.Context, d delivery) (err error) {
	to, err := mail.ParseAddress(d.Address.Email)
	if err != nil {
		return permanent(fmt.Errorf("smtp: recipient address %q: %w", d.Address.Email, err))
	}
	to.Name = d.Address.Name
	msg := s.compose(d, to)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", s.addr(), err)
	}
	// The dialogue has no context of its own: the deadline bounds it, and
	// cancelling ctx closes the connection.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	defer func() {
		if err != nil && ctx.Err() != nil && !isPermanent(err) {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
	}()
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		_ = conn.Close()
		return smtpError("greeting", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return smtpError("EHLO", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Never fall back to plain text.
			return fmt.Errorf("smtp: %s does not offer STARTTLS", s.addr())
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return smtpError("STARTTLS", err)
		}
	}
	if s.cfg.Username != "" {
		auth, err := s.auth(c)
		if err != nil {
			return err
		}
		if err := c.Auth(auth); err != nil {
			return smtpError("AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return smtpError("MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return smtpError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil { // the server's verdict on the message
		return smtpError("DATA", err)
	}
	_ = c.Quit() // the message is accepted; how the session ends does not matter
	return nil
}

func (s *smtpChannel) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

func (s *smtpChannel) dial(ctx context.Context) (net.Conn, error) {
	if s.cfg.TLS == TLSImplicit {
		d := tls.Dialer{Config: s.tlsConfig()}
		return d.DialContext(ctx, "tcp", s.addr())
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr())
}

func (s *smtpChannel) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = s.cfg.Host
	}
	return c
}

// auth picks the strongest mechanism both sides speak that sends the
// password once: PLAIN, else LOGIN, else CRAM-MD5.
func (s *smtpChannel) auth(c *smtp.Client) (smtp.Auth, error) {
	ok, params := c.Extension("AUTH")
	if !ok {
		return nil, fmt.Errorf("smtp: %s does not offer AUTH, but a username is configured", s.addr())
	}
	mechs := strings.Fields(strings.ToUpper(params))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case has("PLAIN"):
		return smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host), nil
	case has("LOGIN"):
		return &loginAuth{username: s.cfg.Username, password: s.cfg.Password, host: s.cfg.Host}, nil
	case has("CRAM-MD5"):
		return smtp.CRAMMD5Auth(s.cfg.Username, s.cfg.Password), nil
	}
	return nil, fmt.Errorf("smtp: %s offers no AUTH mechanism this client speaks (%s)", s.addr(), params)
}

// smtpError classifies a failed step: a 5xx reply is a permanent
// rejection, a 4xx reply or a broken connection may pass.
func smtpError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		e := fmt.Errorf("smtp %s: %d %s", step, te.Code, te.Msg)
		if te.Code >= 500 {
			return permanent(e)
		}
		return e
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// compose writes the e-mail: RFC 5322 headers (non-ASCII words encoded
// per RFC 2047), a UTF-8 plain-text body in quoted-printable. Everything
// comes from the stored message, so every attempt sends the same bytes
// and the same Message-ID.
func (s *smtpChannel) compose(d delivery, to *mail.Address) []byte {
	var b bytes.Buffer
	h := func(k, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(headerValue(v))
		b.WriteString("\r\n")
	}
	h("From", s.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", d.Message.Subject))
	h("Date", d.Message.SentAt.UTC().Format(time.RFC1123Z))
	h("Message-ID", MessageID(d.Message.ID, string(d.Recipient.Kind), d.Recipient.ID, s.domain))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	h("X-EduSmartHub-Message-Id", d.Message.ID)
	h("X-EduSmartHub-School-Id", d.Message.SchoolID)
	h("X-EduSmartHub-Category", d.Message.Category)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(d.Message.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	_, _ = qp.Write([]byte(body)) // writes to a bytes.Buffer do not fail
	_ = qp.Close()
	return b.Bytes()
}

// MessageID is the Message-ID header of the e-mail of a message to one
// recipient: the same on every attempt, so a receiver can drop a
// duplicate. Characters not allowed in a Message-ID become "-".
func MessageID(messageID, recipientKind, recipientID, domain string) string {
	return "<" + msgIDAtom(messageID) + "." + msgIDAtom(recipientKind) + "." + msgIDAtom(recipientID) + "@" + msgIDAtom(domain) + ">"
}

// msgIDAtom keeps the dot-atom characters of RFC 5322 (without "@").
func msgIDAtom(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
			return r
		}
		return '-'
	}, s)
}

// headerValue keeps a header on its line whatever a value holds.
func headerValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}

// loginAuth is the AUTH LOGIN mechanism (not in net/smtp), with
// PlainAuth's guard: never over plain text except to a loopback host.
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "user name", "username":
		return []byte(a.username), nil
	case "password:", "password":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", fromServer)
}
