package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// POST /messages {recipients, subject, body, category, relatedTo}:
// SendMessage, from the caller.

type recipientBody struct {
	Kind string `json:"kind"` // teacher, guardian or admin
	ID   string `json:"id"`
}

type sendMessageBody struct {
	Recipients []recipientBody `json:"recipients"`
	Subject    string          `json:"subject"`
	Body       string          `json:"body"`
	Category   string          `json:"category"`
	RelatedTo  string          `json:"relatedTo"`
}

func (s *Server) messageRoutes(school *gin.RouterGroup) {
	// Guardians write to their children's teachers and the school; the
	// handler checks to whom.
	s.command(school, http.MethodPost, "/messages", anyMember,
		created(s, "SendMessage", commands.NewSendMessageHandler(s.deps.Commands), buildSendMessage))
}

func buildSendMessage(_ *gin.Context, m commands.Meta, b sendMessageBody) (commands.SendMessage, error) {
	var recipients []domain.RecipientInput
	if b.Recipients != nil {
		recipients = make([]domain.RecipientInput, len(b.Recipients))
	}
	for i, r := range b.Recipients {
		id := r.ID
		// Teachers and guardians have UUIDs; an administrator is a token
		// subject, which may be any string. The command checks the kind.
		switch domain.RecipientKind(strings.ToLower(strings.TrimSpace(r.Kind))) {
		case domain.RecipientTeacher, domain.RecipientGuardian:
			var err error
			if id, err = bodyID(fmt.Sprintf("recipients[%d].id", i), r.ID); err != nil {
				return commands.SendMessage{}, err
			}
		}
		recipients[i] = domain.RecipientInput{Kind: r.Kind, ID: id}
	}
	return commands.SendMessage{MessageID: commands.NewID(m, "message"), Recipients: recipients, Subject: b.Subject,
		Body: b.Body, Category: b.Category, RelatedTo: b.RelatedTo}, nil
}
