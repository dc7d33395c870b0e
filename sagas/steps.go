package sagas

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Steps the workflows share: telling people and recording it, loading
// what a step needs and checking it still holds, and the small texts of
// the steps' reasons.

// notify sends msg as the command purpose names (in.Meta: a repeat sends
// nothing twice) and, once sent, records step with reason and the
// message's result. The error is the notifier's, for the caller to retry
// or to fail the instance with (failIfRefused).
func (d Deps) notify(ctx context.Context, in *Instance, purpose string, msg Notification, step, reason string) (commands.Result, error) {
	m := in.Meta(purpose)
	res, err := d.Notifier.Notify(ctx, m, msg)
	if err != nil {
		return res, err
	}
	in.Issued(step, reason, m, res)
	return res, nil
}

// failIfRefused fails the instance on step when err is a refusal for
// good (a domain error), keeping what earlier steps recorded, and returns
// nil; any other error is returned, for the runtime to retry.
func failIfRefused(in *Instance, err error, step, what string) error {
	if domain.KindOf(err) == 0 {
		return err
	}
	in.Fail(step, what+": "+err.Error())
	return nil
}

// loadActiveStudent loads student id and checks they are an active
// student of the instance's school. When they are not, it finishes the
// instance, saying so and that the workflow does nothing (e.g. "no risk
// assessment"): failed for a student the school does not know, completed
// for a withdrawn one; the student is then nil.
func loadActiveStudent(ctx context.Context, repo *commands.Repository, in *Instance, id, nothing string) (*domain.Student, error) {
	student, _, err := commands.Load(ctx, repo, domain.NewStudent(id))
	if err != nil {
		return nil, err
	}
	switch {
	case student.RequireInSchool(in.SchoolID()) != nil:
		in.Fail("student_unknown", fmt.Sprintf("student %s is not a student of school %s: %s", id, in.SchoolID(), nothing))
		return nil, nil
	case !student.Active():
		in.Complete(fmt.Sprintf("%s is withdrawn: %s", studentLabel(student), nothing))
		return nil, nil
	}
	return student, nil
}

// loadClassOf loads the student's class; nil when they are in none.
func loadClassOf(ctx context.Context, repo *commands.Repository, student *domain.Student) (*domain.Class, error) {
	id := student.ClassID()
	if id == "" {
		return nil, nil
	}
	class, _, err := commands.Load(ctx, repo, domain.NewClass(id))
	if err != nil {
		return nil, err
	}
	return class, nil
}

// hasEvent reports whether a stream's history holds the event id (one an
// earlier attempt of the same trigger appended).
func hasEvent(recs []eventstore.RecordedEvent, id uuid.UUID) bool {
	return slices.ContainsFunc(recs, func(r eventstore.RecordedEvent) bool { return r.ID == id })
}

// recipients are the people of one kind with the given IDs.
func recipients(kind domain.RecipientKind, ids ...string) []domain.RecipientInput {
	out := make([]domain.RecipientInput, len(ids))
	for i, id := range ids {
		out[i] = domain.RecipientInput{Kind: string(kind), ID: id}
	}
	return out
}

// officeRecipient is the school's office: its administrators.
var officeRecipient = domain.RecipientInput{Kind: string(domain.RecipientAdmin), ID: domain.OfficeRecipientID}

// studentLabel names a student in a reason: "Ada Lovelace (student <id>)".
func studentLabel(s *domain.Student) string {
	if s.Name() != "" {
		return fmt.Sprintf("%s (student %s)", s.Name(), s.ID())
	}
	return "student " + s.ID()
}

// plural is word for n (an "s" added when n != 1).
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// count is n and noun: "1 lesson", "3 lessons".
func count(n int, noun string) string { return fmt.Sprintf("%d %s", n, plural(n, noun)) }

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
