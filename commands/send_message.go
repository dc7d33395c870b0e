package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// SendMessage sends a message within the school; the sender (From) is the
// actor. Who may write to whom:
//   - school admins, teachers and services: anyone of the school;
//   - a guardian: only about their own child, named in RelatedTo as
//     "student-<id>", and only to the teachers of that child's class and to
//     the school's administrators (kind admin).
//
// Teacher recipients must be teachers of the school. Guardians and
// administrators have no stream of their own to look up, so their IDs are
// checked for form only; both kinds of ID are school-scoped (GuardianID
// derives from the school, admins are token subjects of the school) and
// every read of messages is filtered by school, so a stray ID reaches no one.
type SendMessage struct {
	MessageID  string // minted by the caller (NewID)
	Recipients []domain.RecipientInput
	Subject    string
	Body       string
	Category   string // optional: general (default), welcome, performance, attendance, meeting, intervention, exam
	RelatedTo  string // optional reference, e.g. "student-<id>"; required of guardians
}

// SendMessageHandler handles SendMessage.
type SendMessageHandler struct{ repo *Repository }

func NewSendMessageHandler(repo *Repository) SendMessageHandler {
	return SendMessageHandler{repo: repo}
}

func (h SendMessageHandler) Handle(ctx context.Context, m Meta, cmd SendMessage) (Result, error) {
	if err := allow(m, RoleSchoolAdmin, RoleTeacher, RoleGuardian); err != nil {
		return Result{}, err
	}
	in := domain.MessageInput{
		SchoolID: m.SchoolID, From: m.Actor.ID, Recipients: cmd.Recipients, Subject: cmd.Subject, Body: cmd.Body,
		Category: cmd.Category, RelatedTo: cmd.RelatedTo,
	}
	// Check the form of the input before reading any recipient's stream;
	// the blank message is thrown away.
	if err := domain.NewMessage(cmd.MessageID).Send(in, h.repo.Now()); err != nil {
		return Result{}, err
	}
	a := m.Actor
	var guardianOf *domain.Class // the class whose teachers a guardian may write to
	if !a.Has(RolePlatformAdmin, RoleService, RoleSchoolAdmin, RoleTeacher) {
		c, err := h.guardiansChildClass(ctx, m, cmd.RelatedTo)
		if err != nil {
			return Result{}, err
		}
		guardianOf = c
	}
	checked := map[string]bool{}
	for i, r := range cmd.Recipients {
		kind, err := domain.RecipientKindFromString(fmt.Sprintf("recipients[%d].kind", i), r.Kind)
		if err != nil {
			return Result{}, err
		}
		field := fmt.Sprintf("recipients[%d].id", i)
		if guardianOf != nil {
			switch {
			case kind == domain.RecipientGuardian:
				return Result{}, forbidden("a guardian may write only to their child's teachers and the school's administrators")
			case kind == domain.RecipientTeacher && !teachesClass(guardianOf, r.ID):
				return Result{}, forbidden("teacher %s (%s) does not teach your child's class", r.ID, field)
			}
		}
		if kind != domain.RecipientTeacher || checked[r.ID] {
			continue
		}
		checked[r.ID] = true
		t, _, err := Load(ctx, h.repo, domain.NewTeacher(r.ID))
		if err != nil {
			return Result{}, err
		}
		if t.RequireInSchool(m.SchoolID) != nil {
			return Result{}, notFoundAs(domain.ErrTeacherNotFound, field, "teacher %s is not a teacher of this school", r.ID)
		}
	}
	return Create(ctx, h.repo, m, func() *domain.Message { return domain.NewMessage(cmd.MessageID) },
		func(msg *domain.Message) error { return msg.Send(in, h.repo.Now()) })
}

// guardiansChildClass checks that a guardian's message is about a student
// they are linked to (relatedTo "student-<id>") and returns the student's
// class (an empty one when the student has none: then only admins can be
// written to).
func (h SendMessageHandler) guardiansChildClass(ctx context.Context, m Meta, relatedTo string) (*domain.Class, error) {
	studentID, ok := strings.CutPrefix(strings.TrimSpace(relatedTo), "student-")
	if !ok || studentID == "" {
		return nil, domain.Invalid("relatedTo", "a guardian's message must name their child as student-<id>")
	}
	s, _, err := Load(ctx, h.repo, domain.NewStudent(studentID))
	if err != nil {
		return nil, err
	}
	if s.RequireInSchool(m.SchoolID) != nil {
		return nil, notFoundAs(domain.ErrStudentNotFound, "relatedTo", "student %s not found", studentID)
	}
	if !s.HasGuardian(m.Actor.ID) {
		return nil, forbidden("actor %s is not a guardian of student %s", m.Actor.ID, studentID)
	}
	if s.ClassID() == "" {
		return domain.NewClass(""), nil
	}
	return loadClass(ctx, h.repo, m.SchoolID, s.ClassID())
}
