package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestSendMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewSendMessageHandler(f.repo)
	ctx := context.Background()
	to := func(kind, id string) domain.RecipientInput { return domain.RecipientInput{Kind: kind, ID: id} }
	message := func(related string, recipients ...domain.RecipientInput) commands.SendMessage {
		return commands.SendMessage{MessageID: uuid.NewString(), Recipients: recipients, Subject: "Maths homework",
			Body: "Please check the homework plan.", Category: "performance", RelatedTo: related}
	}
	service := commands.Meta{SchoolID: f.school, Actor: commands.Actor{ID: "saga-1", Roles: []commands.Role{commands.RoleService}}}

	t.Run("sent by", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    commands.Meta
			cmd  commands.SendMessage
		}{
			{"an admin to anyone", f.admin(), message("", to("teacher", sc.T1), to("guardian", sc.G3), to("admin", "admin-2"))},
			{"a teacher to a guardian", f.teacherAs(sc.T1), message("student-"+sc.S1, to("guardian", sc.G1))},
			{"a teacher to another teacher", f.teacherAs(sc.T1), message("", to("Teacher", sc.T2))},
			{"a service", service, message("", to("guardian", sc.G2))},
			{"a guardian to their child's teacher and the admins", f.guardianAs(sc.G1), message("student-"+sc.S1, to("teacher", sc.T1), to("admin", "admin-1"))},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res, err := h.Handle(ctx, tt.m, tt.cmd)
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != tt.cmd.MessageID || res.Stream != "message-"+tt.cmd.MessageID || res.Version != 1 {
					t.Fatalf("result = %+v", res)
				}
				f.expectEvents(t, res.Stream, domain.MessageSentType)
				msg, _, err := commands.Load(ctx, f.repo, domain.NewMessage(tt.cmd.MessageID))
				if err != nil || msg.From() != tt.m.Actor.ID {
					t.Fatalf("from = %q (%v), want the actor %s", msg.From(), err, tt.m.Actor.ID)
				}
			})
		}
	})

	t.Run("the same message twice", func(t *testing.T) {
		cmd := message("", to("teacher", sc.T1))
		if _, err := h.Handle(ctx, f.admin(), cmd); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.admin(), cmd)
		expectErr(t, err, domain.KindConflict, "", domain.ErrMessageAlreadySent)
	})

	t.Run("forbidden", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    commands.Meta
			cmd  commands.SendMessage
		}{
			{"a guardian to a teacher of another class", f.guardianAs(sc.G1), message("student-"+sc.S1, to("teacher", sc.T2))},
			{"a guardian to another guardian", f.guardianAs(sc.G1), message("student-"+sc.S1, to("guardian", sc.G2))},
			{"a guardian about another's child", f.guardianAs(sc.G1), message("student-"+sc.S3, to("teacher", sc.T2))},
			{"another school's admin", f.foreignAdmin(), message("", to("teacher", sc.T1))},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, tt.m, tt.cmd)
				expectForbidden(t, err)
				f.expectEvents(t, "message-"+tt.cmd.MessageID)
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		noSubject := message("", to("teacher", sc.T1))
		noSubject.Subject = ""
		badCategory := message("", to("teacher", sc.T1))
		badCategory.Category = "gossip"
		for _, tt := range []struct {
			name     string
			m        commands.Meta
			cmd      commands.SendMessage
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"another school's teacher", f.admin(), message("", to("guardian", sc.G1), to("teacher", sc.XTeacher)), domain.KindNotFound, "recipients[1].id", domain.ErrTeacherNotFound},
			{"an unknown teacher", f.teacherAs(sc.T1), message("", to("teacher", uuid.NewString())), domain.KindNotFound, "recipients[0].id", domain.ErrTeacherNotFound},
			{"no recipients", f.admin(), message(""), domain.KindInvalid, "recipients", nil},
			{"an unknown recipient kind", f.admin(), message("", to("principal", "p-1")), domain.KindInvalid, "recipients[0].kind", nil},
			{"a recipient twice", f.admin(), message("", to("teacher", sc.T1), to("teacher", sc.T1)), domain.KindInvalid, "recipients[1]", nil},
			{"no subject", f.admin(), noSubject, domain.KindInvalid, "subject", nil},
			{"an unknown category", f.admin(), badCategory, domain.KindInvalid, "category", nil},
			{"a guardian's message about no child", f.guardianAs(sc.G1), message("", to("teacher", sc.T1)), domain.KindInvalid, "relatedTo", nil},
			{"a guardian's message about another school's student", f.guardianAs(sc.G1), message("student-"+sc.XStudent, to("admin", "admin-1")), domain.KindNotFound, "relatedTo", domain.ErrStudentNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, tt.m, tt.cmd)
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
				f.expectEvents(t, "message-"+tt.cmd.MessageID)
			})
		}
	})
}
