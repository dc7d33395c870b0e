package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Delivery statuses (notification_deliveries.status). Stored values:
// append-only, never rename.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"

	// statusReleased is no stored status: an attempt that never started
	// (its context ended first) gives its claim back uncounted.
	statusReleased = "released"
)

// maxErrorLen bounds last_error (bytes, cut at a rune boundary).
const maxErrorLen = 2000

type newDelivery struct {
	id        uuid.UUID
	recipient domain.Recipient
	channel   string
	address   Address
}

type outcome struct {
	status    string
	lastError string
	next      time.Time // pending: when the next attempt is due
}

// recordMessage stores the message and its deliveries, keeping whatever
// is already there: a redelivered message changes nothing.
func recordMessage(ctx context.Context, pool *pgxpool.Pool, m message, rows []newDelivery, now time.Time) error {
	kinds := make([]string, len(rows))
	ids := make([]string, len(rows))
	channels := make([]string, len(rows))
	dids := make([]uuid.UUID, len(rows))
	emails := make([]string, len(rows))
	names := make([]string, len(rows))
	for i, r := range rows {
		kinds[i], ids[i], channels[i], dids[i] = string(r.recipient.Kind), r.recipient.ID, r.channel, r.id
		emails[i], names[i] = r.address.Email, r.address.Name
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
INSERT INTO notification_messages (message_id, school_id, event_id, sender, subject, body, category, related_to, sent_at, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (message_id) DO NOTHING`,
			m.ID, m.SchoolID, m.EventID, m.From, m.Subject, m.Body, m.Category, m.RelatedTo, m.SentAt, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
INSERT INTO notification_deliveries (message_id, recipient_kind, recipient_id, channel, delivery_id, school_id,
    address, name, status, attempts, next_attempt_at, created_at, updated_at)
SELECT $1, k, r, c, d, $2, a, n, 'pending', 0, $9, $9, $9
  FROM unnest($3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[]) AS u(k, r, c, d, a, n)
ON CONFLICT (message_id, recipient_kind, recipient_id, channel) DO NOTHING`,
			m.ID, m.SchoolID, kinds, ids, channels, dids, emails, names, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: record message %s: %w", m.ID, err)
	}
	return nil
}

// claim takes up to limit pending deliveries that are due and not leased
// (of one message, or of any when messageID is ""), on the given channels:
// it counts the attempt and leases the row until leaseUntil, so no other
// dispatcher attempts it meanwhile.
func claim(ctx context.Context, pool *pgxpool.Pool, now, leaseUntil time.Time, messageID string, channels []string, limit int) ([]delivery, error) {
	rows, err := pool.Query(ctx, `
WITH due AS (
    SELECT message_id, recipient_kind, recipient_id, channel
      FROM notification_deliveries
     WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
       AND ($3::text = '' OR message_id = $3) AND channel = ANY ($4::text[])
     ORDER BY next_attempt_at, delivery_id
     LIMIT $5
       FOR UPDATE SKIP LOCKED
)
UPDATE notification_deliveries d
   SET attempts = d.attempts + 1, lease_until = $2, updated_at = $1
  FROM due, notification_messages m
 WHERE d.message_id = due.message_id AND d.recipient_kind = due.recipient_kind
   AND d.recipient_id = due.recipient_id AND d.channel = due.channel
   AND m.message_id = d.message_id
RETURNING d.delivery_id, d.channel, d.attempts, d.recipient_kind, d.recipient_id, d.address, d.name,
    m.message_id, m.school_id, m.event_id, m.sender, m.subject, m.body, m.category, m.related_to, m.sent_at`,
		now, leaseUntil, messageID, channels, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: claim deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery, error) {
		var d delivery
		var kind string
		err := r.Scan(&d.ID, &d.Channel, &d.Attempt, &kind, &d.Recipient.ID, &d.Address.Email, &d.Address.Name,
			&d.Message.ID, &d.Message.SchoolID, &d.Message.EventID, &d.Message.From, &d.Message.Subject,
			&d.Message.Body, &d.Message.Category, &d.Message.RelatedTo, &d.Message.SentAt)
		d.Recipient.Kind = domain.RecipientKind(kind)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: claim deliveries: %w", err)
	}
	return out, nil
}

// recordOutcome ends an attempt. It changes the row only while the
// attempt still holds it (same attempt count, still pending): a
// dispatcher whose lease ran out cannot overwrite a later attempt.
func recordOutcome(ctx context.Context, pool *pgxpool.Pool, d delivery, o outcome, now time.Time) error {
	var err error
	switch o.status {
	case StatusSent:
		_, err = pool.Exec(ctx, `
UPDATE notification_deliveries
   SET status = 'sent', sent_at = $3, next_attempt_at = NULL, lease_until = NULL, last_error = '', updated_at = $3
 WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'`, d.ID, d.Attempt, now)
	case StatusFailed:
		_, err = pool.Exec(ctx, `
UPDATE notification_deliveries
   SET status = 'failed', failed_at = $3, next_attempt_at = NULL, lease_until = NULL, last_error = $4, updated_at = $3
 WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'`, d.ID, d.Attempt, now, clip(o.lastError))
	case StatusPending:
		_, err = pool.Exec(ctx, `
UPDATE notification_deliveries
   SET next_attempt_at = $4, lease_until = NULL, last_error = $5, updated_at = $3
 WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'`, d.ID, d.Attempt, now, o.next, clip(o.lastError))
	case statusReleased:
		_, err = pool.Exec(ctx, `
UPDATE notification_deliveries
   SET attempts = attempts - 1, lease_until = NULL, updated_at = $3
 WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'`, d.ID, d.Attempt, now)
	default:
		err = errors.New("unknown outcome " + o.status)
	}
	if err != nil {
		return fmt.Errorf("notify: record delivery %s: %w", d.ID, err)
	}
	return nil
}

func clip(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
