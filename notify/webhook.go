package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookEventType is the CloudEvents type of the webhook's events.
const WebhookEventType = "edusmarthub.notification.v1"

// WebhookContentType is the Content-Type of the webhook's requests
// (CloudEvents structured mode, JSON).
const WebhookContentType = "application/cloudevents+json; charset=utf-8"

// WebhookEvent is the body of a webhook request: a CloudEvents 1.0 event
// in structured mode. ID is the delivery's ID (also the webhook-id
// header): the same on every attempt at one (message, recipient), so a
// receiver can drop a duplicate.
type WebhookEvent struct {
	SpecVersion     string              `json:"specversion"` // "1.0"
	Type            string              `json:"type"`        // WebhookEventType
	Source          string              `json:"source"`      // "/edusmarthub/schools/<schoolId>"
	ID              string              `json:"id"`
	Time            time.Time           `json:"time"`    // when the message was sent
	Subject         string              `json:"subject"` // "message-<messageId>"
	DataContentType string              `json:"datacontenttype"`
	Data            WebhookNotification `json:"data"`
}

// WebhookNotification is one message for one recipient.
type WebhookNotification struct {
	MessageID string           `json:"messageId"`
	SchoolID  string           `json:"schoolId"`
	EventID   string           `json:"eventId"` // the message.sent.v1 event's ID
	From      string           `json:"from"`    // the sender's actor ID
	Category  string           `json:"category"`
	Subject   string           `json:"subject"`
	Body      string           `json:"body"`
	RelatedTo string           `json:"relatedTo,omitempty"`
	SentAt    time.Time        `json:"sentAt"`
	Recipient WebhookRecipient `json:"recipient"`
}

// WebhookRecipient is the recipient of a WebhookNotification.
type WebhookRecipient struct {
	Kind  string `json:"kind"` // teacher | guardian | admin
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// webhookChannel POSTs a signed WebhookEvent per delivery.
type webhookChannel struct {
	cfg    WebhookConfig
	key    []byte
	client *http.Client
}

func newWebhookChannel(cfg WebhookConfig) (*webhookChannel, error) {
	cfg.setDefaults()
	key, err := secretKey(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return &webhookChannel{cfg: cfg, key: key, client: &http.Client{
		Timeout: cfg.Timeout,
		// A redirect is answered as it is (a failure): a signed POST is
		// not replayed to another URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

func (w *webhookChannel) name() string           { return ChannelWebhook }
func (w *webhookChannel) maxAttempts() int       { return w.cfg.MaxAttempts }
func (w *webhookChannel) timeout() time.Duration { return w.cfg.Timeout }

func webhookEvent(d delivery) WebhookEvent {
	m := d.Message
	return WebhookEvent{
		SpecVersion: "1.0", Type: WebhookEventType, Source: "/edusmarthub/schools/" + m.SchoolID,
		ID: d.ID.String(), Time: m.SentAt.UTC(), Subject: "message-" + m.ID, DataContentType: "application/json",
		Data: WebhookNotification{
			MessageID: m.ID, SchoolID: m.SchoolID, EventID: m.EventID.String(), From: m.From,
			Category: m.Category, Subject: m.Subject, Body: m.Body, RelatedTo: m.RelatedTo, SentAt: m.SentAt.UTC(),
			Recipient: WebhookRecipient{Kind: string(d.Recipient.Kind), ID: d.Recipient.ID,
				Email: d.Address.Email, Name: d.Address.Name},
		},
	}
}

func (w *webhookChannel) deliver(ctx context.Context, d delivery) error {
	body, err := json.Marshal(webhookEvent(d))
	if err != nil {
		return permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("webhook: %w", err))
	}
	id, ts := d.ID.String(), time.Now()
	req.Header.Set("Content-Type", WebhookContentType)
	req.Header.Set("User-Agent", "EduSmartHub-Webhook/1")
	req.Header.Set(HeaderWebhookID, id)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, signature(w.key, id, ts.Unix(), body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: POST %s: %w", redactURL(w.cfg.URL), err)
	}
	defer func() { _ = resp.Body.Close() }()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return &attemptError{
			err:        fmt.Errorf("webhook: POST %s: %s%s", redactURL(w.cfg.URL), resp.Status, bodyNote(snippet)),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	default:
		return permanent(fmt.Errorf("webhook: POST %s: %s%s", redactURL(w.cfg.URL), resp.Status, bodyNote(snippet)))
	}
}

func bodyNote(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if s == "" {
		return ""
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redactURL drops the user info and query of a URL for errors and logs
// (they may carry a token).
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
			s = s[:i+3] + rest[at+1:]
		}
	}
	return s
}
