package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/projections"
)

// TestInboxOfTheSchoolOffice: a message to the admin recipient "office"
// is in every administrator's inbox, once even when also sent to them by
// name; its read mark is shared by the office, while a message to an
// administrator by name keeps their own.
func TestInboxOfTheSchoolOffice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	reg := newRegistry(t, w.pool, w.store)

	school, other := uuid.NewString(), uuid.NewString()
	platform := commands.Meta{Actor: commands.Actor{ID: "platform", Roles: []commands.Role{commands.RolePlatformAdmin}}}
	for _, id := range []string{school, other} {
		w.ok(commands.NewRegisterSchoolHandler(w.repo).Handle(ctx, platform, commands.RegisterSchool{SchoolID: id, Name: "S " + id, Timezone: "UTC"}))
	}
	send := func(schoolID string, to ...domain.RecipientInput) string {
		w.now = w.now.Add(time.Minute)
		id := uuid.NewString()
		m := commands.Meta{SchoolID: schoolID, Actor: commands.Actor{ID: "saga:test", Roles: []commands.Role{commands.RoleService}}}
		w.ok(commands.NewSendMessageHandler(w.repo).Handle(ctx, m, commands.SendMessage{MessageID: id, Recipients: to,
			Subject: "subject " + id, Body: "body", Category: "intervention"}))
		return id
	}
	office := domain.RecipientInput{Kind: "admin", ID: domain.OfficeRecipientID}
	ann := domain.RecipientInput{Kind: "admin", ID: "admin-ann"}
	toOffice := send(school, office)
	toAnn := send(school, ann)
	toBoth := send(school, ann, office)
	toGuardian := send(school, domain.RecipientInput{Kind: "guardian", ID: "g-1"})
	send(other, office) // another school's office
	deliver(t, reg, readAll(t, w.pool, w.store))

	annInbox := projections.Recipient{Kind: "admin", ID: "admin-ann"}
	bobInbox := projections.Recipient{Kind: "admin", ID: "admin-bob"}
	list := func(to projections.Recipient, f projections.InboxFilter) ([]string, int) {
		t.Helper()
		p := must(projections.ListInbox(ctx, w.pool, school, to, f))(t)
		return ids(p.Items, func(m projections.InboxMessage) string { return m.MessageID }), p.Unread
	}
	read := func(to projections.Recipient) map[string]bool {
		t.Helper()
		p := must(projections.ListInbox(ctx, w.pool, school, to, projections.InboxFilter{}))(t)
		out := map[string]bool{}
		for _, m := range p.Items {
			out[m.MessageID] = m.Read
		}
		return out
	}

	got, unread := list(annInbox, projections.InboxFilter{})
	eq(t, "Ann's inbox: her own and the office's, each once", got, []string{toBoth, toAnn, toOffice})
	eq(t, "Ann's unread", unread, 3)
	got, unread = list(bobInbox, projections.InboxFilter{})
	eq(t, "Bob's inbox: the office's", got, []string{toBoth, toOffice})
	eq(t, "Bob's unread", unread, 2)
	got, _ = list(projections.Recipient{Kind: "admin", ID: domain.OfficeRecipientID}, projections.InboxFilter{})
	eq(t, "the office itself", got, []string{toBoth, toOffice})
	got, _ = list(projections.Recipient{Kind: "guardian", ID: "g-1"}, projections.InboxFilter{})
	eq(t, "a guardian's inbox is theirs only", got, []string{toGuardian})

	// Paging walks Ann's inbox once, message by message.
	var paged []string
	f := projections.InboxFilter{PageParams: projections.PageParams{Limit: 1}}
	for range 5 {
		p := must(projections.ListInbox(ctx, w.pool, school, annInbox, f))(t)
		for _, m := range p.Items {
			paged = append(paged, m.MessageID)
		}
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	eq(t, "paged", paged, []string{toBoth, toAnn, toOffice})

	// Bob reads the office's messages: read for the office, Ann included;
	// the one also sent to Ann by name stays unread in her inbox.
	must(projections.MarkRead(ctx, w.pool, school, bobInbox, toOffice))(t)
	m := must(projections.MarkRead(ctx, w.pool, school, bobInbox, toBoth))(t)
	eq(t, "marked", m.Read, true)
	eq(t, "Ann sees", read(annInbox), map[string]bool{toOffice: true, toAnn: false, toBoth: false})
	eq(t, "Bob sees", read(bobInbox), map[string]bool{toOffice: true, toBoth: true})
	_, unread = list(annInbox, projections.InboxFilter{UnreadOnly: true})
	eq(t, "Ann's unread after Bob read", unread, 2)
	got, _ = list(annInbox, projections.InboxFilter{UnreadOnly: true})
	eq(t, "Ann's unread ones", got, []string{toBoth, toAnn})

	// Ann's reading of her own copy is hers.
	must(projections.MarkRead(ctx, w.pool, school, annInbox, toBoth))(t)
	must(projections.MarkUnread(ctx, w.pool, school, annInbox, toOffice))(t) // the office's mark: unread for Bob too
	eq(t, "Ann sees then", read(annInbox), map[string]bool{toOffice: false, toAnn: false, toBoth: true})
	eq(t, "Bob sees then", read(bobInbox), map[string]bool{toOffice: false, toBoth: true})

	// A message to Ann by name is not the office's.
	_, err := projections.GetInboxMessage(ctx, w.pool, school, bobInbox, toAnn)
	if !errors.Is(err, projections.ErrNotFound) {
		t.Errorf("Bob reads Ann's message: %v", err)
	}
	if _, err := projections.MarkRead(ctx, w.pool, school, bobInbox, toAnn); !errors.Is(err, projections.ErrNotFound) {
		t.Errorf("Bob marks Ann's message: %v", err)
	}
	if msg := must(projections.GetInboxMessage(ctx, w.pool, school, bobInbox, toOffice))(t); msg.MessageID != toOffice || msg.Category != "intervention" {
		t.Errorf("office message: %+v", msg)
	}
	// Nor is another school's office, nor does a teacher read the office.
	got, _ = list(projections.Recipient{Kind: "teacher", ID: domain.OfficeRecipientID}, projections.InboxFilter{})
	eq(t, "a teacher named office", len(got), 0)
	p := must(projections.ListInbox(ctx, w.pool, other, annInbox, projections.InboxFilter{}))(t)
	eq(t, "another school's office", len(p.Items), 1)
	p = must(projections.ListInbox(ctx, w.pool, uuid.NewString(), annInbox, projections.InboxFilter{}))(t)
	eq(t, "a school without messages", len(p.Items), 0)
}
