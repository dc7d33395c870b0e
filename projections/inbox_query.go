package projections

import (
	"context"
	"errors"
	"slices"
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
//
// An administrator's inbox (kind admin) also holds the messages to the
// school office, the admin recipient domain.OfficeRecipientID, which is
// every administrator of the school. A message sent to both an
// administrator and the office shows once, as theirs. The read mark of an
// office message is the office's: one administrator marking it read marks
// it read for all of them (the office has one mailbox, however many people
// read it), while a message to an administrator by name keeps a mark of
// their own.
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

const inboxColumns = `i.message_id, i.sender, i.subject, i.body, i.category, i.related_to, i.sent_at, m.read_at, i.recipient_id`

// inboxMarks joins each inbox row with its read mark (that of the row's
// recipient: the person's, or the office's).
const inboxMarks = `
  LEFT JOIN inbox_state.read_marks m ON m.school_id = i.school_id AND m.recipient_kind = i.recipient_kind
       AND m.recipient_id = i.recipient_id AND m.message_id = i.message_id`

// inboxSource is the FROM clause of one inbox, its rows named i: the
// recipient's own rows, for an administrator with the office's added, one
// row per message (their own when a message went to both). Its conditions
// go to q.
func inboxSource(q *sqlQuery, schoolID, kind, id string) string {
	if kind != string(domain.RecipientAdmin) || id == domain.OfficeRecipientID {
		q.where("i.school_id = " + q.arg(schoolID))
		q.where("i.recipient_kind = " + q.arg(kind))
		q.where("i.recipient_id = " + q.arg(id))
		return ` FROM rm_inbox.inbox i` + inboxMarks
	}
	school, k, own, office := q.arg(schoolID), q.arg(kind), q.arg(id), q.arg(domain.OfficeRecipientID)
	// DISTINCT ON keeps the first row of each message: false sorts before
	// true, so the administrator's own row before the office's.
	return ` FROM (SELECT DISTINCT ON (message_id) * FROM rm_inbox.inbox
  WHERE school_id = ` + school + ` AND recipient_kind = ` + k + ` AND recipient_id IN (` + own + `, ` + office + `)
  ORDER BY message_id, recipient_id = ` + office + `) i` + inboxMarks
}

// scanInbox scans inboxColumns: the message and the recipient ID its row
// is addressed to (the caller's, or the office's).
func scanInbox(r pgx.Row) (InboxMessage, string, error) {
	var m InboxMessage
	var to string
	err := r.Scan(&m.MessageID, &m.From, &m.Subject, &m.Body, &m.Category, &m.RelatedTo, &m.SentAt, &m.ReadAt, &to)
	m.Read = m.ReadAt != nil
	return m, to, err
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
	p, err := keyset{list: "inbox", cols: []sortKey{{"i.sent_at", "timestamptz"}, {"i.message_id", "text"}}, desc: true}.page(f.PageParams)
	if err != nil {
		return InboxPage{}, err
	}
	var q sqlQuery
	from := inboxSource(&q, schoolID, kind, to.ID)
	unread, err := unreadCount(ctx, db, from, q)
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
	page, err := queryPage(ctx, db, p, `SELECT `+inboxColumns+from, &q,
		func(r pgx.Rows) (InboxMessage, error) {
			m, _, err := scanInbox(r)
			return m, err
		},
		func(m InboxMessage) []string { return []string{cursorTime(m.SentAt), m.MessageID} })
	if err != nil {
		return InboxPage{}, err
	}
	return InboxPage{Page: page, Unread: unread}, nil
}

// unreadCount counts the unread messages of the inbox from and q select
// (before any filter of the listing).
func unreadCount(ctx context.Context, db Querier, from string, q sqlQuery) (int, error) {
	q.conds = append(slices.Clone(q.conds), "m.read_at IS NULL")
	var n int
	err := db.QueryRow(ctx, `SELECT count(*)`+from+q.whereSQL(), q.args...).Scan(&n)
	return n, err
}

// GetInboxMessage returns one message of a recipient's inbox.
func GetInboxMessage(ctx context.Context, db Querier, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	m, _, err := inboxMessage(ctx, db, schoolID, to, messageID)
	return m, err
}

// inboxMessage is GetInboxMessage, with the recipient ID the message's
// row is addressed to (whose read mark it carries).
func inboxMessage(ctx context.Context, db Querier, schoolID string, to Recipient, messageID string) (InboxMessage, string, error) {
	if err := requireSchool(schoolID); err != nil {
		return InboxMessage{}, "", err
	}
	kind, err := to.parse()
	if err != nil {
		return InboxMessage{}, "", err
	}
	var q sqlQuery
	from := inboxSource(&q, schoolID, kind, to.ID)
	q.where("i.message_id = " + q.arg(messageID))
	m, addressee, err := scanInbox(db.QueryRow(ctx, `SELECT `+inboxColumns+from+q.whereSQL(), q.args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return InboxMessage{}, "", notFound("message %s not found in this inbox", messageID)
	}
	return m, addressee, err
}

// MarkRead marks a message of a recipient's inbox read and returns it.
// It is read-model-local UI state (see inboxProjection), not an event;
// marking a read message again keeps the first reading time. A message
// not (yet) in the inbox is not found. An office message is marked read
// for the whole office (see Recipient).
func MarkRead(ctx context.Context, db Execer, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	_, addressee, err := inboxMessage(ctx, db, schoolID, to, messageID)
	if err != nil {
		return InboxMessage{}, err
	}
	kind, _ := to.parse() // checked by inboxMessage
	if _, err := db.Exec(ctx, `INSERT INTO inbox_state.read_marks (school_id, recipient_kind, recipient_id, message_id, read_at)
VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING`, schoolID, kind, addressee, messageID); err != nil {
		return InboxMessage{}, err
	}
	return GetInboxMessage(ctx, db, schoolID, to, messageID)
}

// MarkUnread marks a message of a recipient's inbox unread again and
// returns it; for an office message, for the whole office.
func MarkUnread(ctx context.Context, db Execer, schoolID string, to Recipient, messageID string) (InboxMessage, error) {
	_, addressee, err := inboxMessage(ctx, db, schoolID, to, messageID)
	if err != nil {
		return InboxMessage{}, err
	}
	kind, _ := to.parse()
	if _, err := db.Exec(ctx, `DELETE FROM inbox_state.read_marks
WHERE school_id = $1 AND recipient_kind = $2 AND recipient_id = $3 AND message_id = $4`, schoolID, kind, addressee, messageID); err != nil {
		return InboxMessage{}, err
	}
	return GetInboxMessage(ctx, db, schoolID, to, messageID)
}
