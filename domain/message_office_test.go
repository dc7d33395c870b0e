package domain_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The school office is an admin recipient: every administrator of the
// school. A teacher or guardian of that ID would be no one.
func TestMessageToTheOffice(t *testing.T) {
	t.Parallel()
	send := func(in domain.MessageInput) func(*domain.Message) error {
		return func(m *domain.Message) error { return m.Send(in, acNow) }
	}

	t.Run("an admin recipient", func(t *testing.T) {
		t.Parallel()
		in := msgInput()
		in.Recipients = []domain.RecipientInput{{Kind: "admin", ID: domain.OfficeRecipientID}, {Kind: "admin", ID: "admin-7"}}
		want := msgSent()
		want.Recipients = []domain.Recipient{{Kind: domain.RecipientAdmin, ID: "office"}, {Kind: domain.RecipientAdmin, ID: "admin-7"}}
		academic(t, domain.NewMessage(msgID)).when(send(in)).then(want)
	})

	for _, kind := range []string{"teacher", "guardian"} {
		t.Run("not a "+kind, func(t *testing.T) {
			t.Parallel()
			in := msgInput()
			in.Recipients = []domain.RecipientInput{{Kind: "admin", ID: "admin-7"}, {Kind: kind, ID: domain.OfficeRecipientID}}
			academic(t, domain.NewMessage(msgID)).when(send(in)).thenInvalid("recipients[1].id")
		})
	}
}
