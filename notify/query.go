package notify

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Querier is what Deliveries reads through: *pgxpool.Pool, *pgx.Conn and
// pgx.Tx all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// DeliveryRecord is the state of one delivery of a message.
type DeliveryRecord struct {
	DeliveryID    string           `json:"deliveryId"`
	MessageID     string           `json:"messageId"`
	SchoolID      string           `json:"schoolId"`
	Recipient     domain.Recipient `json:"recipient"`
	Channel       string           `json:"channel"` // smtp | webhook
	Address       string           `json:"address"`
	Name          string           `json:"name,omitempty"`
	Status        string           `json:"status"` // pending | sent | failed
	Attempts      int              `json:"attempts"`
	LastError     string           `json:"lastError,omitempty"`
	NextAttemptAt *time.Time       `json:"nextAttemptAt,omitempty"` // pending only
	CreatedAt     time.Time        `json:"createdAt"`
	UpdatedAt     time.Time        `json:"updatedAt"`
	SentAt        *time.Time       `json:"sentAt,omitempty"`
	FailedAt      *time.Time       `json:"failedAt,omitempty"`
}

// Deliveries lists the deliveries of a school's message by recipient and
// channel (none for a message of another school).
func Deliveries(ctx context.Context, db Querier, schoolID, messageID string) ([]DeliveryRecord, error) {
	rows, err := db.Query(ctx, `
SELECT delivery_id::text, message_id, school_id, recipient_kind, recipient_id, channel, address, name, status,
       attempts, last_error, next_attempt_at, created_at, updated_at, sent_at, failed_at
  FROM notification_deliveries
 WHERE school_id = $1 AND message_id = $2
 ORDER BY recipient_kind, recipient_id, channel`, schoolID, messageID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeliveryRecord, error) {
		var d DeliveryRecord
		var kind string
		err := r.Scan(&d.DeliveryID, &d.MessageID, &d.SchoolID, &kind, &d.Recipient.ID, &d.Channel, &d.Address,
			&d.Name, &d.Status, &d.Attempts, &d.LastError, &d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt,
			&d.SentAt, &d.FailedAt)
		d.Recipient.Kind = domain.RecipientKind(kind)
		return d, err
	})
}
