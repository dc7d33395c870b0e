package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Channel names, as stored in notification_deliveries.channel and used
// as the metrics' channel label.
const (
	ChannelSMTP    = "smtp"
	ChannelWebhook = "webhook"
)

// ErrInvalidEvent is matched (errors.Is) by Handle's error for a
// message.sent.v1 event that cannot be decoded: retrying cannot help (the
// Kafka handler wraps it in kafka.Permanent).
var ErrInvalidEvent = errors.New("notify: invalid event")

// Dispatcher delivers messages through the configured channels. It is
// safe for concurrent use, and several dispatchers (replicas) may share a
// database.
type Dispatcher struct {
	cfg      DispatcherConfig
	channels []channel // smtp first, then webhook
	names    []string
	lease    time.Duration
	metrics  *metrics
}

// channel is one way out: SMTP or the webhook.
type channel interface {
	name() string
	maxAttempts() int
	timeout() time.Duration
	// deliver makes one attempt. An error that retrying cannot cure is
	// an *attemptError with permanent set.
	deliver(ctx context.Context, d delivery) error
}

// message is a message.sent.v1 as stored in notification_messages.
type message struct {
	ID, SchoolID, From  string
	Subject, Body       string
	Category, RelatedTo string
	EventID             uuid.UUID
	SentAt              time.Time
}

// delivery is one (message, recipient, channel) attempt.
type delivery struct {
	ID        uuid.UUID
	Channel   string
	Attempt   int // 1 for the first
	Message   message
	Recipient domain.Recipient
	Address   Address
}

// attemptError is a failed attempt with its classification.
type attemptError struct {
	err        error
	permanent  bool          // rejected: retrying cannot help
	retryAfter time.Duration // the receiver's Retry-After, if any
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func permanent(err error) error { return &attemptError{err: err, permanent: true} }

func isPermanent(err error) bool {
	var ae *attemptError
	return errors.As(err, &ae) && ae.permanent
}

func retryAfterOf(err error) time.Duration {
	var ae *attemptError
	if errors.As(err, &ae) {
		return ae.retryAfter
	}
	return 0
}

// NewDispatcher checks the configuration and builds the channels.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	d := &Dispatcher{cfg: cfg}
	if cfg.SMTP != nil {
		ch, err := newSMTPChannel(*cfg.SMTP)
		if err != nil {
			return nil, err
		}
		d.channels = append(d.channels, ch)
	}
	if cfg.Webhook != nil {
		ch, err := newWebhookChannel(*cfg.Webhook)
		if err != nil {
			return nil, err
		}
		d.channels = append(d.channels, ch)
	}
	for _, ch := range d.channels {
		d.names = append(d.names, ch.name())
		// An attempt holds its row for its timeout and a minute more:
		// past that its dispatcher is taken to have died.
		d.lease = max(d.lease, ch.timeout()+time.Minute)
	}
	m, err := newMetrics(cfg.Registerer, d.names)
	if err != nil {
		return nil, err
	}
	d.metrics = m
	return d, nil
}

// Channels names the configured channels (smtp, webhook).
func (d *Dispatcher) Channels() []string { return append([]string(nil), d.names...) }

// Handle delivers a message.sent.v1 event; other event types are ignored.
// It records the message and a delivery per resolvable recipient and
// channel, then makes the first attempt of each delivery due. It returns
// an error only when it could not record them (the database, the address
// book) or the event is invalid (ErrInvalidEvent); the attempts' outcomes
// are the deliveries' own business, retried by Run.
func (d *Dispatcher) Handle(ctx context.Context, e eventstore.RecordedEvent) error {
	if e.Type != domain.MessageSentType {
		return nil
	}
	ev, err := domain.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return fmt.Errorf("%w: %s version %d: %v", ErrInvalidEvent, e.StreamID, e.Version, err)
	}
	sent, ok := ev.(domain.MessageSent)
	if !ok {
		return fmt.Errorf("%w: %s decoded as %T", ErrInvalidEvent, e.Type, ev)
	}
	msg := message{
		ID: sent.MessageID, SchoolID: e.Metadata.SchoolID, From: sent.From,
		Subject: sent.Subject, Body: sent.Body, Category: string(sent.Category), RelatedTo: sent.RelatedTo,
		EventID: e.ID, SentAt: sent.At,
	}
	if msg.SchoolID == "" {
		msg.SchoolID = sent.SchoolID
	}
	if msg.ID == "" || msg.SchoolID == "" {
		return fmt.Errorf("%w: %s version %d has no message or school ID", ErrInvalidEvent, e.StreamID, e.Version)
	}
	if msg.SentAt.IsZero() {
		msg.SentAt = e.RecordedAt
	}
	if msg.Category == "" {
		msg.Category = string(domain.CategoryGeneral)
	}

	var rows []newDelivery
	for _, r := range sent.Recipients {
		addr, ok, err := d.cfg.Addresses.Address(ctx, msg.SchoolID, r)
		if err != nil {
			return fmt.Errorf("notify: resolve %s %s of message %s: %w", r.Kind, r.ID, msg.ID, err)
		}
		if !ok || addr.Email == "" {
			d.metrics.unresolved(string(r.Kind))
			d.cfg.Logger.DebugContext(ctx, "notify: recipient has no address",
				slog.String("message", msg.ID), slog.String("kind", string(r.Kind)), slog.String("recipient", r.ID))
			continue
		}
		for _, ch := range d.channels {
			rows = append(rows, newDelivery{
				id: deliveryID(msg.ID, r, ch.name()), recipient: r, channel: ch.name(), address: addr,
			})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	now := d.cfg.Clock.Now()
	if err := recordMessage(ctx, d.cfg.Pool, msg, rows, now); err != nil {
		return err
	}
	claimed, err := claim(ctx, d.cfg.Pool, now, now.Add(d.lease), msg.ID, d.names, len(rows))
	if err != nil {
		return err
	}
	d.attempt(ctx, claimed)
	return nil
}

// RetryDue makes the next attempt of up to BatchSize pending deliveries
// whose retry is due, and returns how many it attempted.
func (d *Dispatcher) RetryDue(ctx context.Context) (int, error) {
	now := d.cfg.Clock.Now()
	claimed, err := claim(ctx, d.cfg.Pool, now, now.Add(d.lease), "", d.names, d.cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	d.attempt(ctx, claimed)
	return len(claimed), nil
}

// Run retries due deliveries every Tick until ctx is done, then returns
// nil. A database error is logged and tried again at the next tick.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Tick)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := d.RetryDue(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.cfg.Logger.ErrorContext(ctx, "notify: retry due deliveries", slog.Any("error", err))
				}
				break
			}
			if n < d.cfg.BatchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// attempt runs the claimed deliveries, Concurrency at a time, and records
// each outcome.
func (d *Dispatcher) attempt(ctx context.Context, claimed []delivery) {
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, dl := range claimed {
		ch := d.channel(dl.Channel)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				d.release(ctx, dl) // never started: give the claim back uncounted
				return
			}
			d.finish(ctx, ch, dl, ch.deliver(ctx, dl))
		})
	}
	wg.Wait()
}

func (d *Dispatcher) channel(name string) channel {
	for _, ch := range d.channels {
		if ch.name() == name {
			return ch
		}
	}
	panic("notify: claimed a delivery of unconfigured channel " + name) // claim filters by d.names
}

// release gives back the claim of an attempt that never started.
func (d *Dispatcher) release(ctx context.Context, dl delivery) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := recordOutcome(rctx, d.cfg.Pool, dl, outcome{status: statusReleased}, d.cfg.Clock.Now()); err != nil {
		d.cfg.Logger.ErrorContext(ctx, "notify: release delivery", slog.String("delivery", dl.ID.String()), slog.Any("error", err))
	}
}

// finish records an attempt's outcome, even when ctx was cancelled
// meanwhile: the row must not stay leased for nothing.
func (d *Dispatcher) finish(ctx context.Context, ch channel, dl delivery, err error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	now := d.cfg.Clock.Now()
	log := d.cfg.Logger.With(slog.String("delivery", dl.ID.String()), slog.String("channel", dl.Channel),
		slog.String("message", dl.Message.ID), slog.String("kind", string(dl.Recipient.Kind)),
		slog.String("recipient", dl.Recipient.ID), slog.Int("attempt", dl.Attempt))
	var out outcome
	switch {
	case err == nil:
		out = outcome{status: StatusSent}
	case isPermanent(err) || dl.Attempt >= ch.maxAttempts():
		out = outcome{status: StatusFailed, lastError: err.Error()}
	default:
		out = outcome{status: StatusPending, lastError: err.Error(), next: now.Add(d.backoff(dl.Attempt, retryAfterOf(err)))}
	}
	if rerr := recordOutcome(rctx, d.cfg.Pool, dl, out, now); rerr != nil {
		// The lease runs out and the delivery is tried again.
		log.ErrorContext(ctx, "notify: record delivery outcome", slog.String("status", out.status), slog.Any("error", rerr))
		return
	}
	switch out.status {
	case StatusSent:
		d.metrics.delivered(dl.Channel, "sent")
		log.DebugContext(ctx, "notify: delivered")
	case StatusFailed:
		d.metrics.delivered(dl.Channel, "failed")
		log.WarnContext(ctx, "notify: delivery failed for good", slog.Any("error", err))
	default:
		d.metrics.delivered(dl.Channel, "retry")
		log.InfoContext(ctx, "notify: delivery attempt failed, will retry", slog.Any("error", err), slog.Time("next", out.next))
	}
}

// backoff is the wait after failed attempt n (1 for the first):
// RetryBackoff doubled n-1 times, at least the receiver's Retry-After, at
// most MaxRetryBackoff.
func (d *Dispatcher) backoff(n int, retryAfter time.Duration) time.Duration {
	b := d.cfg.RetryBackoff
	for i := 1; i < n && b < d.cfg.MaxRetryBackoff; i++ {
		b *= 2
	}
	b = max(b, retryAfter)
	return min(b, d.cfg.MaxRetryBackoff)
}

// deliveryNamespace is the UUID namespace of delivery IDs.
var deliveryNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://edusmarthub.invalid/notify/delivery"))

// deliveryID is the delivery's stable ID: the same on every attempt and
// every redelivery of the message (the webhook-id and the CloudEvents id).
func deliveryID(messageID string, r domain.Recipient, channel string) uuid.UUID {
	return uuid.NewSHA1(deliveryNamespace, []byte(messageID+"\x00"+string(r.Kind)+"\x00"+r.ID+"\x00"+channel))
}
