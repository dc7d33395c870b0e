package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// inboxProjection is the notification inbox: one row per recipient
// (teacher, guardian or admin) of every message sent (streams
// message-<id>).
//
// Read/unread is not domain truth but the reader's UI state, so it is not
// an event: MarkRead and MarkUnread write it straight to the table
// inbox_state.read_marks, outside the projection's schema, because a
// rebuild replaces rm_inbox with a copy made from the events alone and
// must not forget what people have read. Schema creates that table too
// (qualified, idempotent); a message's row and its read mark are joined
// when queried.
type inboxProjection struct{}

const inboxName = "inbox"

func (inboxProjection) Name() string { return inboxName }

func (inboxProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelCommunication}
}

func (inboxProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS inbox (
    school_id      text NOT NULL,
    recipient_kind text NOT NULL,
    recipient_id   text NOT NULL,
    message_id     text NOT NULL,
    sender         text NOT NULL,
    subject        text NOT NULL,
    body           text NOT NULL,
    category       text NOT NULL,
    related_to     text NOT NULL,
    sent_at        timestamptz NOT NULL,
    PRIMARY KEY (school_id, recipient_kind, recipient_id, message_id)
);
CREATE INDEX IF NOT EXISTS inbox_sent_idx ON inbox (school_id, recipient_kind, recipient_id, sent_at, message_id);

-- Read marks survive rebuilds: see inboxProjection.
CREATE SCHEMA IF NOT EXISTS inbox_state;
CREATE TABLE IF NOT EXISTS inbox_state.read_marks (
    school_id      text NOT NULL,
    recipient_kind text NOT NULL,
    recipient_id   text NOT NULL,
    message_id     text NOT NULL,
    read_at        timestamptz NOT NULL,
    PRIMARY KEY (school_id, recipient_kind, recipient_id, message_id)
);
`
}

func (inboxProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type != domain.MessageSentType {
		return nil
	}
	ev, err := decodeAs[domain.MessageSent](ctx, e)
	if err != nil {
		return err
	}
	kinds, ids := make([]string, len(ev.Recipients)), make([]string, len(ev.Recipients))
	for i, r := range ev.Recipients {
		kinds[i], ids[i] = string(r.Kind), r.ID
	}
	_, err = tx.Exec(ctx, `
INSERT INTO inbox (school_id, recipient_kind, recipient_id, message_id, sender, subject, body, category, related_to, sent_at)
SELECT $1, k, i, $2, $3, $4, $5, $6, $7, $8 FROM unnest($9::text[], $10::text[]) AS u(k, i)
ON CONFLICT (school_id, recipient_kind, recipient_id, message_id) DO UPDATE SET sender = excluded.sender,
    subject = excluded.subject, body = excluded.body, category = excluded.category, related_to = excluded.related_to,
    sent_at = excluded.sent_at`,
		tenantOf(e, ev.SchoolID), ev.MessageID, ev.From, ev.Subject, ev.Body, string(ev.Category), ev.RelatedTo, ev.At, kinds, ids)
	return err
}
