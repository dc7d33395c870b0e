package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AddressBook resolves the recipients of a school's messages to e-mail
// addresses (internal/directory implements it over the read models).
type AddressBook interface {
	// Address returns the recipient's address; ok is false when the
	// recipient has none (unknown, or no address on record). An error is
	// a failure to look (the database), which Handle returns so the
	// message is retried.
	Address(ctx context.Context, schoolID string, r domain.Recipient) (addr Address, ok bool, err error)
}

// Address is a person's e-mail address and display name.
type Address struct {
	Email string
	Name  string
}

// Clock tells the time the dispatcher schedules retries by.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SMTP transport security.
const (
	TLSNone     = "none"     // plain text: only for a relay on the same host or network
	TLSStartTLS = "starttls" // plain connection upgraded by STARTTLS (port 587); never falls back to plain text
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// Defaults.
const (
	DefaultSMTPTimeout     = 30 * time.Second
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultMaxAttempts     = 5
	DefaultRetryBackoff    = 30 * time.Second
	DefaultMaxRetryBackoff = 30 * time.Minute
	DefaultConcurrency     = 4
	DefaultTick            = 5 * time.Second
	DefaultBatchSize       = 32
)

// SMTPConfig configures e-mail delivery.
type SMTPConfig struct {
	Host string
	// Port defaults by TLS: 587 (starttls), 465 (tls), 25 (none).
	Port int
	// Username and Password authenticate (AUTH PLAIN, else LOGIN, else
	// CRAM-MD5, as the server offers); none when Username is empty.
	// Credentials are only sent over TLS, or in plain text to a loopback
	// host.
	Username, Password string
	// From is the sender, "Name <address>" or an address.
	From string
	// TLS is none, starttls (the default) or tls.
	TLS string
	// Timeout bounds one delivery: connect, dialogue and data (default
	// 30s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts at one delivery, the first included
	// (default 5).
	MaxAttempts int
	// LocalName is the name given in EHLO (default "localhost").
	LocalName string
	// TLSConfig, optional, is the TLS client configuration (its
	// ServerName defaults to Host): tests trust their own CA with it.
	TLSConfig *tls.Config
}

func (c *SMTPConfig) setDefaults() {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	c.TLS = strings.ToLower(strings.TrimSpace(c.TLS))
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.LocalName == "" {
		c.LocalName = "localhost"
	}
}

// Validate reports every problem of the configuration (after defaults).
func (c SMTPConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if strings.TrimSpace(c.Host) == "" {
		errs = append(errs, errors.New("smtp: host is required"))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port %d is out of range", c.Port))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp: from %q is not an e-mail address: %w", c.From, err))
	}
	switch c.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("smtp: tls %q is not one of none, starttls, tls", c.TLS))
	}
	if c.TLS == TLSNone && c.Username != "" && !isLoopback(c.Host) {
		errs = append(errs, fmt.Errorf("smtp: credentials would go in plain text to %s: use tls starttls or tls", c.Host))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("smtp: timeout must not be negative"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("smtp: max attempts must be at least 1"))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// URL receives the POSTs (http or https).
	URL string
	// Secret signs the requests: "whsec_<base64>" (the Standard Webhooks
	// form, the key being the decoded bytes) or any other string (its
	// bytes are the key).
	Secret string
	// MaxAttempts bounds the attempts at one delivery, the first included
	// (default 5).
	MaxAttempts int
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

func (c *WebhookConfig) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultWebhookTimeout
	}
}

// Validate reports every problem of the configuration (after defaults).
func (c WebhookConfig) Validate() error {
	c.setDefaults()
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case strings.TrimSpace(c.URL) == "":
		errs = append(errs, errors.New("webhook: url is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("webhook: url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("webhook: url %q is not an http(s) URL", c.URL))
	}
	if c.Secret == "" {
		errs = append(errs, errors.New("webhook: secret is required (the requests are signed)"))
	} else if _, err := secretKey(c.Secret); err != nil {
		errs = append(errs, fmt.Errorf("webhook: %w", err))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("webhook: max attempts must be at least 1"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("webhook: timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// DispatcherConfig configures a Dispatcher. At least one of SMTP and
// Webhook is required.
type DispatcherConfig struct {
	Pool      *pgxpool.Pool
	Addresses AddressBook
	SMTP      *SMTPConfig
	Webhook   *WebhookConfig
	// Logger gets a line per failed attempt (default: none).
	Logger *slog.Logger
	// Registerer gets the delivery metrics (nil: none).
	Registerer prometheus.Registerer
	// Clock schedules retries (default: the system clock).
	Clock Clock
	// RetryBackoff is the wait after a first failed attempt (default
	// 30s); it doubles after each further one, up to MaxRetryBackoff
	// (default 30m). A Retry-After of the receiver is honoured within it.
	RetryBackoff, MaxRetryBackoff time.Duration
	// Concurrency bounds the attempts in flight at once per call of
	// Handle or RetryDue (default 4).
	Concurrency int
	// Tick is how often Run looks for due retries (default 5s); BatchSize
	// how many it takes at a time (default 32).
	Tick      time.Duration
	BatchSize int
}

func (c *DispatcherConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.SMTP != nil {
		s := *c.SMTP
		s.setDefaults()
		c.SMTP = &s
	}
	if c.Webhook != nil {
		w := *c.Webhook
		w.setDefaults()
		c.Webhook = &w
	}
}

// Validate reports every problem of the configuration at once.
func (c DispatcherConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Pool == nil {
		errs = append(errs, errors.New("notify: no database pool"))
	}
	if c.Addresses == nil {
		errs = append(errs, errors.New("notify: no address book"))
	}
	if c.SMTP == nil && c.Webhook == nil {
		errs = append(errs, errors.New("notify: no delivery channel configured (SMTP or webhook)"))
	}
	if c.SMTP != nil {
		errs = append(errs, c.SMTP.Validate())
	}
	if c.Webhook != nil {
		errs = append(errs, c.Webhook.Validate())
	}
	if c.RetryBackoff < 0 || c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, errors.New("notify: retry backoffs must satisfy 0 <= RetryBackoff <= MaxRetryBackoff"))
	}
	if c.Concurrency < 1 || c.BatchSize < 1 || c.Tick < 0 {
		errs = append(errs, errors.New("notify: concurrency and batch size must be at least 1, tick not negative"))
	}
	return errors.Join(errs...)
}
