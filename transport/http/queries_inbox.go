package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/projections"
)

const rmInbox = "inbox"

// inboxQueries: the caller's own inbox. Nobody reads another's: there is
// no recipient in the path. Marking a message read or unread changes the
// inbox read model only (UI state, no event: see projections' inbox); it
// needs no Idempotency-Key, as doing it twice is doing it once.
func (s *Server) inboxQueries(school *gin.RouterGroup) {
	s.read(school, "/inbox", readEveryone, reads(rmInbox), s.listInbox)
	s.read(school, "/inbox/:messageId", readEveryone, reads(rmInbox), s.getInboxMessage)
	s.query(school, http.MethodPost, "/inbox/:messageId/read", readEveryone, s.markInbox(projections.MarkRead))
	s.query(school, http.MethodPost, "/inbox/:messageId/unread", readEveryone, s.markInbox(projections.MarkUnread))
}

// inboxKinds are the recipient kinds a role reads its inbox as, most
// privileged first: an admin's messages are addressed to "admin".
var inboxKinds = []struct {
	kind  domain.RecipientKind
	roles []commands.Role
}{
	{domain.RecipientAdmin, []commands.Role{commands.RolePlatformAdmin, commands.RoleSchoolAdmin}},
	{domain.RecipientTeacher, []commands.Role{commands.RoleTeacher}},
	{domain.RecipientGuardian, []commands.Role{commands.RoleGuardian}},
}

// inboxOwner is whose inbox the caller reads: themself, as ?as= (admin,
// teacher or guardian; one they hold) or by default as their most
// privileged kind.
func inboxOwner(p *params, v viewer) projections.Recipient {
	as := p.text("as")
	for _, k := range inboxKinds {
		if v.actor.Has(k.roles...) && (as == "" || as == string(k.kind)) {
			return projections.Recipient{Kind: string(k.kind), ID: v.actor.ID}
		}
	}
	if as != "" {
		p.fail(badRequest("as", "you have no %q inbox; yours: admin, teacher or guardian by your roles", as))
	}
	return projections.Recipient{}
}

func (s *Server) listInbox(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	to := inboxOwner(p, v)
	f := projections.InboxFilter{Category: p.text("category"), PageParams: p.page()}
	if unread := p.boolean("unread"); unread != nil {
		f.UnreadOnly = *unread
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.ListInbox(c, v.db, v.school, to, f)
}

func (s *Server) getInboxMessage(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	to := inboxOwner(p, v)
	if err := p.done(); err != nil {
		return nil, err
	}
	return projections.GetInboxMessage(c, v.db, v.school, to, idParam(c, "messageId"))
}

// markInbox answers POST /inbox/{messageId}/read (or unread) with the
// message as it now is.
func (s *Server) markInbox(mark func(ctx context.Context, db projections.Execer, schoolID string, to projections.Recipient, messageID string) (projections.InboxMessage, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		v := s.viewer(c)
		p := newParams(c)
		to := inboxOwner(p, v)
		err := p.done()
		if err == nil {
			err = decodeBody(c.Request, &NoBody{}, true)
		}
		var m projections.InboxMessage
		if err == nil {
			m, err = mark(c, s.deps.Pool, v.school, to, idParam(c, "messageId"))
		}
		if err != nil {
			abortWithError(c, err)
			return
		}
		c.JSON(http.StatusOK, m)
	}
}
