package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message is a message sent within a school to teachers, guardians or
// administrators (stream message-<id>). It is written once; read/unread
// state belongs to a read model.
type Message struct {
	Root
	schoolID   string
	from       string
	recipients []Recipient
	subject    string
	body       string
	category   MessageCategory
	relatedTo  string
	sentAt     time.Time
}

// RecipientKind is who a recipient is. Stored values: append-only, never
// rename.
type RecipientKind string

const (
	RecipientTeacher  RecipientKind = "teacher"
	RecipientGuardian RecipientKind = "guardian"
	RecipientAdmin    RecipientKind = "admin"
)

// OfficeRecipientID is the admin recipient that is the school's office:
// a message to (admin, OfficeRecipientID) is to every administrator of the
// school, each of whom finds it in their inbox. It names no person, so no
// teacher or guardian recipient may have it.
const OfficeRecipientID = "office"

// RecipientKindFromString parses a recipient kind.
func RecipientKindFromString(field, s string) (RecipientKind, error) {
	switch k := RecipientKind(strings.ToLower(strings.TrimSpace(s))); k {
	case RecipientTeacher, RecipientGuardian, RecipientAdmin:
		return k, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not a recipient kind (teacher, guardian, admin)", s)
}

func (k RecipientKind) IsZero() bool   { return k == "" }
func (k RecipientKind) String() string { return string(k) }

// MessageCategory is what a message is about. Stored values: append-only,
// never rename.
type MessageCategory string

const (
	CategoryGeneral      MessageCategory = "general"
	CategoryWelcome      MessageCategory = "welcome"
	CategoryPerformance  MessageCategory = "performance"
	CategoryAttendance   MessageCategory = "attendance"
	CategoryMeeting      MessageCategory = "meeting"
	CategoryIntervention MessageCategory = "intervention"
	CategoryExam         MessageCategory = "exam"
)

// MessageCategoryFromString parses a message category.
func MessageCategoryFromString(field, s string) (MessageCategory, error) {
	switch c := MessageCategory(strings.ToLower(strings.TrimSpace(s))); c {
	case CategoryGeneral, CategoryWelcome, CategoryPerformance, CategoryAttendance,
		CategoryMeeting, CategoryIntervention, CategoryExam:
		return c, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field,
		"%q is not a message category (general, welcome, performance, attendance, meeting, intervention, exam)", s)
}

func (c MessageCategory) IsZero() bool   { return c == "" }
func (c MessageCategory) String() string { return string(c) }

// Recipient is one addressee of a message.
type Recipient struct {
	Kind RecipientKind `json:"kind"`
	ID   string        `json:"id"`
}

// ErrMessageAlreadySent: Send on a message that exists.
var ErrMessageAlreadySent = errors.New("message already sent")

const (
	maxMessageRecipients = 500
	maxMessageSubject    = 200
	maxMessageBody       = 10000
	maxMessageRelatedTo  = 200
)

// NewMessage returns the blank message with the given ID, to load its
// stream into. It validates nothing: Send checks the ID.
func NewMessage(id string) *Message { return &Message{Root: Root{id: id}} }

// StreamID is "message-<id>".
func (m *Message) StreamID() string { return "message-" + m.id }

// RecipientInput is one recipient of Send.
type RecipientInput struct {
	Kind string // teacher|guardian|admin
	ID   string
}

// MessageInput is the input of Message.Send. The command layer checks that
// the recipients belong to the school.
type MessageInput struct {
	SchoolID   string
	From       string // the sender's actor ID
	Recipients []RecipientInput
	Subject    string
	Body       string
	Category   string // "" means general
	RelatedTo  string // optional reference, e.g. "student-<id>"
}

// Send sends the message to at least one recipient, each listed once.
func (m *Message) Send(in MessageInput, at time.Time) error {
	if err := RequireID("messageId", m.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	if err := RequireID("from", in.From); err != nil {
		return err
	}
	recipients, err := messageRecipients(in.Recipients)
	if err != nil {
		return err
	}
	subject, err := RequireText("subject", in.Subject, maxMessageSubject)
	if err != nil {
		return err
	}
	body, err := RequireText("body", in.Body, maxMessageBody)
	if err != nil {
		return err
	}
	category := CategoryGeneral
	if strings.TrimSpace(in.Category) != "" {
		if category, err = MessageCategoryFromString("category", in.Category); err != nil {
			return err
		}
	}
	relatedTo, err := optionalText("relatedTo", in.RelatedTo, maxMessageRelatedTo)
	if err != nil {
		return err
	}
	if m.schoolID != "" {
		return ruleError(KindConflict, "", ErrMessageAlreadySent, "message %s was already sent", m.id)
	}
	raise(m, MessageSent{
		MessageID:  m.id,
		SchoolID:   in.SchoolID,
		From:       in.From,
		Recipients: recipients,
		Subject:    subject,
		Body:       body,
		Category:   category,
		RelatedTo:  relatedTo,
		At:         at.UTC(),
	})
	return nil
}

func messageRecipients(in []RecipientInput) ([]Recipient, error) {
	switch {
	case len(in) == 0:
		return nil, Invalid("recipients", "needs at least one recipient")
	case len(in) > maxMessageRecipients:
		return nil, Invalid("recipients", "has more than %d recipients", maxMessageRecipients)
	}
	out := make([]Recipient, 0, len(in))
	for i, r := range in {
		kind, err := RecipientKindFromString(fmt.Sprintf("recipients[%d].kind", i), r.Kind)
		if err != nil {
			return nil, err
		}
		if err := RequireID(fmt.Sprintf("recipients[%d].id", i), r.ID); err != nil {
			return nil, err
		}
		if r.ID == OfficeRecipientID && kind != RecipientAdmin {
			return nil, Invalid(fmt.Sprintf("recipients[%d].id", i), "%q is the school office, an admin recipient, not a %s", OfficeRecipientID, kind)
		}
		rec := Recipient{Kind: kind, ID: r.ID}
		if slices.Contains(out, rec) {
			return nil, Invalid(fmt.Sprintf("recipients[%d]", i), "%s %s is listed twice", kind, r.ID)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (m *Message) apply(e Event) {
	switch e := e.(type) {
	case MessageSent:
		m.schoolID, m.from, m.subject, m.body = e.SchoolID, e.From, e.Subject, e.Body
		m.recipients = slices.Clone(e.Recipients)
		m.category, m.relatedTo, m.sentAt = e.Category, e.RelatedTo, e.At
	}
}

// Sent reports whether the message exists.
func (m *Message) Sent() bool                { return m.schoolID != "" }
func (m *Message) SchoolID() string          { return m.schoolID }
func (m *Message) From() string              { return m.from }
func (m *Message) Recipients() []Recipient   { return slices.Clone(m.recipients) }
func (m *Message) Subject() string           { return m.subject }
func (m *Message) Body() string              { return m.body }
func (m *Message) Category() MessageCategory { return m.category }
func (m *Message) RelatedTo() string         { return m.relatedTo }
func (m *Message) SentAt() time.Time         { return m.sentAt }

// Events of the message.
var MessageSentType = register[MessageSent](ChannelCommunication)

// MessageSent: a message was sent to its recipients.
type MessageSent struct {
	MessageID  string          `json:"messageId"`
	SchoolID   string          `json:"schoolId"`
	From       string          `json:"from"`
	Recipients []Recipient     `json:"recipients"`
	Subject    string          `json:"subject"`
	Body       string          `json:"body"`
	Category   MessageCategory `json:"category"`
	RelatedTo  string          `json:"relatedTo,omitempty"`
	At         time.Time       `json:"at"`
}

func (MessageSent) EventType() string { return "message.sent.v1" }
