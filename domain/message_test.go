package domain_test

import (
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const msgID = "msg-1"

func msgInput() domain.MessageInput {
	return domain.MessageInput{
		SchoolID: acSchool,
		From:     "teacher-1",
		Recipients: []domain.RecipientInput{
			{Kind: "guardian", ID: "guardian-1"},
			{Kind: " Teacher ", ID: "teacher-2"},
			{Kind: "teacher", ID: "guardian-1"}, // same ID, another kind: another recipient
		},
		Subject:   " Maths progress ",
		Body:      "Dear guardian, ...",
		Category:  "Performance",
		RelatedTo: "student-student-1",
	}
}

func msgSent() domain.MessageSent {
	return domain.MessageSent{
		MessageID: msgID,
		SchoolID:  acSchool,
		From:      "teacher-1",
		Recipients: []domain.Recipient{
			{Kind: domain.RecipientGuardian, ID: "guardian-1"},
			{Kind: domain.RecipientTeacher, ID: "teacher-2"},
			{Kind: domain.RecipientTeacher, ID: "guardian-1"},
		},
		Subject:   "Maths progress",
		Body:      "Dear guardian, ...",
		Category:  domain.CategoryPerformance,
		RelatedTo: "student-student-1",
		At:        acNow,
	}
}

func TestMessageSend(t *testing.T) {
	t.Parallel()
	send := func(in domain.MessageInput) func(*domain.Message) error {
		return func(m *domain.Message) error { return m.Send(in, acNow) }
	}

	t.Run("sends", func(t *testing.T) {
		t.Parallel()
		m := academic(t, domain.NewMessage(msgID)).when(send(msgInput())).then(msgSent())
		if !m.Sent() || m.SchoolID() != acSchool || m.From() != "teacher-1" || len(m.Recipients()) != 3 ||
			m.Subject() != "Maths progress" || m.Body() != "Dear guardian, ..." || m.Category() != domain.CategoryPerformance ||
			m.RelatedTo() != "student-student-1" || !m.SentAt().Equal(acNow) || m.StreamID() != "message-msg-1" {
			t.Errorf("state: %v %s %s %v %q %s %s", m.Sent(), m.SchoolID(), m.From(), m.Recipients(), m.Subject(), m.Category(), m.StreamID())
		}
	})

	t.Run("the category defaults to general and the reference is optional", func(t *testing.T) {
		t.Parallel()
		in := msgInput()
		in.Category, in.RelatedTo = "", ""
		want := msgSent()
		want.Category, want.RelatedTo = domain.CategoryGeneral, ""
		academic(t, domain.NewMessage(msgID)).when(send(in)).then(want)
	})

	t.Run("sends once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewMessage(msgID)).given(msgSent()).when(send(msgInput())).
			thenErr(domain.ErrMessageAlreadySent)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	tooMany := make([]domain.RecipientInput, 501)
	for i := range tooMany {
		tooMany[i] = domain.RecipientInput{Kind: "guardian", ID: strings.Repeat("g", i+1)}
	}
	tests := []struct {
		name  string
		id    string
		edit  func(*domain.MessageInput)
		field string
	}{
		{"no id", "", func(*domain.MessageInput) {}, "messageId"},
		{"no school", msgID, func(in *domain.MessageInput) { in.SchoolID = "" }, "schoolId"},
		{"no sender", msgID, func(in *domain.MessageInput) { in.From = "" }, "from"},
		{"no recipients", msgID, func(in *domain.MessageInput) { in.Recipients = nil }, "recipients"},
		{"too many recipients", msgID, func(in *domain.MessageInput) { in.Recipients = tooMany }, "recipients"},
		{"recipient without kind", msgID, func(in *domain.MessageInput) { in.Recipients[1].Kind = "" }, "recipients[1].kind"},
		{"unknown recipient kind", msgID, func(in *domain.MessageInput) { in.Recipients[0].Kind = "student" }, "recipients[0].kind"},
		{"recipient without id", msgID, func(in *domain.MessageInput) { in.Recipients[2].ID = " " }, "recipients[2].id"},
		{"recipient twice", msgID, func(in *domain.MessageInput) {
			in.Recipients = append(in.Recipients, domain.RecipientInput{Kind: "GUARDIAN", ID: "guardian-1"})
		}, "recipients[3]"},
		{"no subject", msgID, func(in *domain.MessageInput) { in.Subject = "" }, "subject"},
		{"subject too long", msgID, func(in *domain.MessageInput) { in.Subject = strings.Repeat("x", 201) }, "subject"},
		{"no body", msgID, func(in *domain.MessageInput) { in.Body = "  " }, "body"},
		{"body too long", msgID, func(in *domain.MessageInput) { in.Body = strings.Repeat("x", 10001) }, "body"},
		{"unknown category", msgID, func(in *domain.MessageInput) { in.Category = "gossip" }, "category"},
		{"reference too long", msgID, func(in *domain.MessageInput) { in.RelatedTo = strings.Repeat("x", 201) }, "relatedTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := msgInput()
			tt.edit(&in)
			academic(t, domain.NewMessage(tt.id)).when(send(in)).thenInvalid(tt.field)
		})
	}
}

func TestMessageEnumerations(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"teacher", "guardian", "admin"} {
		if k, err := domain.RecipientKindFromString("kind", s); err != nil || k.IsZero() {
			t.Errorf("kind %q: %v, %v", s, k, err)
		}
	}
	categories := []string{"general", "welcome", "performance", "attendance", "meeting", "intervention", "exam"}
	for _, s := range categories {
		if c, err := domain.MessageCategoryFromString("category", s); err != nil || c.String() != s {
			t.Errorf("category %q: %v, %v", s, c, err)
		}
	}
	if _, err := domain.MessageCategoryFromString("category", ""); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("empty category: %v", err)
	}
	if _, err := domain.RecipientKindFromString("kind", "parent"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("parent: %v", err)
	}
}
