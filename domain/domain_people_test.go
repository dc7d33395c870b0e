package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

// scenario is one given/when/then case against an aggregate: given its
// history, when a command runs, then it raises exactly these events, or
// fails with thenErr (a sentinel, matched with errors.Is) and/or a
// *domain.Error of thenKind about thenField, raising nothing.
type scenario[A domain.Aggregate] struct {
	name      string
	given     []domain.Event
	when      func(A) error
	then      []domain.Event
	thenErr   error
	thenKind  domain.Kind
	thenField string
}

// runScenarios runs each scenario on a fresh aggregate from blank.
func runScenarios[A domain.Aggregate](t *testing.T, blank func() A, scenarios []scenario[A]) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			agg := domain.Rehydrate(blank(), sc.given, uint64(len(sc.given)))
			err := sc.when(agg)
			if sc.thenErr == nil && sc.thenKind == 0 && sc.thenField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				assertEvents(t, agg.Changes(), sc.then)
				return
			}
			assertRejected(t, err, sc.thenErr, sc.thenKind, sc.thenField)
			if n := len(agg.Changes()); n != 0 {
				t.Fatalf("a rejected command raised %d events: %s", n, eventsJSON(agg.Changes()))
			}
			if got, want := agg.Version(), uint64(len(sc.given)); got != want {
				t.Fatalf("version changed to %d, want %d", got, want)
			}
		})
	}
}

func assertRejected(t *testing.T, err, sentinel error, kind domain.Kind, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("command succeeded, want an error (sentinel %v, kind %v, field %q)", sentinel, kind, field)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("error %q is not %q", err, sentinel)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %q (%T) is not a *domain.Error", err, err)
	}
	if kind != 0 && de.Kind != kind {
		t.Errorf("kind = %v, want %v (error %q)", de.Kind, kind, err)
	}
	if de.Field != field {
		t.Errorf("field = %q, want %q (error %q)", de.Field, field, err)
	}
	if de.Message == "" {
		t.Errorf("error has no message")
	}
}

func assertEvents(t *testing.T, got, want []domain.Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("raised events:\n%s\nwant:\n%s", eventsJSON(got), eventsJSON(want))
	}
}

func eventsJSON(events []domain.Event) string {
	type typed struct {
		Type string       `json:"type"`
		Data domain.Event `json:"data"`
	}
	out := make([]typed, len(events))
	for i, e := range events {
		out[i] = typed{e.EventType(), e}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Fixtures shared by the people tests.
var (
	// peopleAt is the instant the commands run at.
	peopleAt    = time.Date(2025, 9, 1, 8, 30, 0, 0, time.UTC)
	peopleLater = peopleAt.Add(24 * time.Hour)
)

const (
	peopleSchoolA = "school-a"
	peopleSchoolB = "school-b"
)

func peopleEmail(t testing.TB, s string) domain.Email {
	t.Helper()
	e, err := domain.ParseEmail("email", s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func peopleDate(t testing.TB, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate("date", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRequireInSchool(t *testing.T) {
	t.Parallel()
	teacher := domain.Rehydrate(domain.NewTeacher(adaID), []domain.Event{adaCreated(t)}, 1)
	student := domain.Rehydrate(domain.NewStudent(liamID), []domain.Event{liamEnrolled(t),
		domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, At: peopleAt}}, 2)
	class := domain.Rehydrate(domain.NewClass(class7a), []domain.Event{class7aCreated(28)}, 1)
	cases := []struct {
		name     string
		check    func(school string) error
		blank    func(school string) error
		sentinel error
	}{
		{"teacher", teacher.RequireInSchool, domain.NewTeacher(adaID).RequireInSchool, domain.ErrTeacherNotFound},
		{"withdrawn student", student.RequireInSchool, domain.NewStudent(liamID).RequireInSchool, domain.ErrStudentNotFound},
		{"class", class.RequireInSchool, domain.NewClass(class7a).RequireInSchool, domain.ErrClassNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.check(peopleSchoolA); err != nil {
				t.Fatalf("in its own school: %v", err)
			}
			assertRejected(t, c.check(peopleSchoolB), c.sentinel, domain.KindNotFound, "")
			assertRejected(t, c.blank(peopleSchoolA), c.sentinel, domain.KindNotFound, "")
		})
	}
}
