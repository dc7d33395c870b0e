package projections

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// InboxMessage is a message in a recipient's inbox.
type InboxMessage struct {
	MessageID string     `json:"messageId"`
	From      string     `json:"from"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	Category  string     `json:"category"`
	RelatedTo string     `json:"relatedTo,omitempty"`
	SentAt    time.Time  `json:"sentAt"`
	Read      bool       `json:"read"`
	ReadAt    *time.Time `json:"readAt,omitempty"`
}

// InboxFilter selects messages of an inbox, newest first.
type InboxFilter struct {
	UnreadOnly bool
	Category   string
	PageParams
}

// InboxPage is a page of an inbox with the inbox's unread count.
type InboxPage struct {
	Page[InboxMessage]
	Unread int `json:"unread"`
}

// Recipient names an inbox: a kind (teacher, guardian, admin) and an ID.
type Recipient struct {
	Kind string
	ID   string
}

func (r Recipient) parse() (string, error) {
	k, err := domain.RecipientKindFromString("recipientKind", r.Kind)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(r.ID) == "" {
		return "", domain.Invalid("recipientId", "is required")
	}
	return string(k), nil
}

const inboxColumns = `i.message_id, i.sender, i.subject, i.body, i.category, i.related_to, i.sent_at, m.read_at`

const inboxFrom = ` FROM rm_inbox.inbox i
  LEFT JOIN inbox_state.read_marks m ON m.school_id = i.school_id AND m.recipient_kind = i.recipient_kind
       AND m.recipient_id = i.recipient_id AND m.message_id = i.message_id`

func scanInbox(r pgx.Row) (InboxMessage, error) {
	var m InboxMessage
	err := r.Scan(&m.MessageID, &m.From, &m.Subject, &m.Body, &m.Category, &m.RelatedTo, &m.SentAt, &m.ReadAt)
	m.Read = m.ReadAt != nil
	return m, err
}

// ListInbox pages through a recipient's inbox, newest first.
func ListInbox(ctx context.Context, db Querier, schoolID string, to Recipient, f InboxFilter) (InboxPage, error) {
	if err := requireSchool(schoolID); err != nil {
		return InboxPage{}, err
	}
	kind, err := to.parse()
	if err != nil {
		return InboxPage{}, err
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return InboxPage{}, err
	}
	cols := []sortKey{{"i.sent_at", "timestamptz"}, {"i.message_id", "text"}}
	keys, err := decodeCursor(f.Cursor, "inbox", "", len(cols))
	if err != nil {
		return InboxPage{}, err
	}
	var q sqlQuery
	q.where("i.school_id = " + q.arg(schoolID))
	q.where("i.recipient_kind = " + q.arg(kind))
	q.where("i.recipient_id = " + q.arg(to.ID))
	unread, err := unreadCount(ctx, db, q)
	if err != nil {
		return InboxPage{}, err
	}
	if f.UnreadOnly {
		q.where("m.read_at IS NULL")
	}
	if f.Category != "" {
		c, err := domain.MessageCategoryFromString("category", f.Category)
		if err != nil {
			return InboxPage{}, err
		}
		q.where("i.category = " + q.arg(string(c)))
	}
	q.after(cols, true, keys)
	rows, err := db.Query(ctx, `SELECT `+inboxColumns+inboxFrom+q.whereSQL()+orderBy(cols, true)+` LIMIT `+q.arg(limit+1), q.args...)
	if err != nil {
		return InboxPage{}, err
	}
	items, err := collect(rows, func(r pgx.Rows) (InboxMessage, error) { return scanInbox(r) })
	if err != nil {
		return InboxPage{}, err
	}
	page := trimPage(items, limit, "inbox", "", func(m InboxMessage) []string { return []string{cursorTime(m.SentAt), m.MessageID} })
	return InboxPage{Page: page, Unread: unread}, nil
}

func unreadCount(ctx context.Context, db Querier, q sqlQuery) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*)`+inboxFrom+q.whereSQL()+` AND m.read_at IS NULL`, q.args...).Scan(&n)
	return n, err
}

// GetInboxMessage returns one message of a recipient's inbox.
func GetInboxMessage(ctx context.Context, db Querier, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	if err := requireSchool(schoolID); err != nil {
		return InboxMessage{}, err
	}
	kind, err := to.parse()
	if err != nil {
		return InboxMessage{}, err
	}
	m, err := scanInbox(db.QueryRow(ctx, `SELECT `+inboxColumns+inboxFrom+`
 WHERE i.school_id = $1 AND i.recipient_kind = $2 AND i.recipient_id = $3 AND i.message_id = $4`,
		schoolID, kind, to.ID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return InboxMessage{}, notFound("message %s not found in this inbox", messageID)
	}
	return m, err
}

// MarkRead marks a message of a recipient's inbox read and returns it.
// It is read-model-local UI state (see inboxProjection), not an event;
// marking a read message again keeps the first reading time. A message
// not (yet) in the inbox is not found.
func MarkRead(ctx context.Context, db Execer, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	if _, err := GetInboxMessage(ctx, db, schoolID, to, messageID); err != nil {
		return InboxMessage{}, err
	}
	kind, _ := to.parse() // checked by GetInboxMessage
	if _, err := db.Exec(ctx, `INSERT INTO inbox_state.read_marks (school_id, recipient_kind, recipient_id, message_id, read_at)
VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING`, schoolID, kind, to.ID, messageID); err != nil {
		return InboxMessage{}, err
	}
	return GetInboxMessage(ctx, db, schoolID, to, messageID)
}

// MarkUnread marks a message of a recipient's inbox unread again and
// returns it.
func MarkUnread(ctx context.Context, db Execer, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	if _, err := GetInboxMessage(ctx, db, schoolID, to, messageID); err != nil {
		return InboxMessage{}, err
	}
	kind, _ := to.parse()
	if _, err := db.Exec(ctx, `DELETE FROM inbox_state.read_marks
WHERE school_id = $1 AND recipient_kind = $2 AND recipient_id = $3 AND message_id = $4`, schoolID, kind, to.ID, messageID); err != nil {
		return InboxMessage{}, err
	}
	return GetInboxMessage(ctx, db, schoolID, to, messageID)
}
