package sagas_test

import (
	"errors"
	"github.com/edusmarthub/edusmarthub/internal/systemtest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// w1Classes is the school of the enrollment tests: 5A (capacity 30) has
// two students, 5B (capacity 30) none; Tina teaches mathematics to both,
// Tom english to 5A; 6A is another grade.
type w1Classes struct {
	tina, tom     string
	c5A, c5B, c6A string
}

func w1EnrollmentSchool(env *w1Env) w1Classes {
	env.t.Helper()
	var s w1Classes
	s.tina = env.teacher("Tina Taylor", 6, nil, "mathematics")
	s.tom = env.teacher("Tom Turner", 6, nil, "english")
	s.c5A = env.class("5A", 5, 30, domain.ClassSubjectInput{Subject: "mathematics", TeacherID: s.tina},
		domain.ClassSubjectInput{Subject: "english", TeacherID: s.tom})
	s.c5B = env.class("5B", 5, 30, domain.ClassSubjectInput{Subject: "mathematics", TeacherID: s.tina},
		domain.ClassSubjectInput{Subject: "art"})
	s.c6A = env.class("6A", 6, 30, domain.ClassSubjectInput{Subject: "mathematics"})
	for _, name := range []string{"Ada", "Ben"} {
		env.place(env.student(name, 5, strings.ToLower(name)+".parent@home.example"), s.c5A)
	}
	env.skip()
	return s
}

// w1EnrollSiblings enrolls Leo (guardian Pat), lets the workflow run,
// then Mia (guardians Pat and Sam), and returns their IDs.
func w1EnrollSiblings(env *w1Env) (leo, mia string) {
	env.t.Helper()
	leo = env.student("Leo Moss", 5, "pat@home.example")
	env.pump()
	mia = env.student("Mia Moss", 5, "pat@home.example", "sam@home.example")
	env.pump()
	return leo, mia
}

// w1CheckEnrolled checks the end state of w1EnrollSiblings: each command
// and message once.
func w1CheckEnrolled(t *testing.T, env *w1Env, s w1Classes, leo, mia string) {
	t.Helper()
	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateCompleted {
		t.Fatalf("Mia: %s", systemtest.Describe(w))
	}
	want := []string{"placed", "guardian_invited", "guardian_invited", "guardian_welcomed", "guardian_welcomed",
		"guardian_welcomed", "teachers_told", "records_ready", "completed"}
	if got := stepNames(w); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v\n%s", got, want, systemtest.Describe(w))
	}
	if got := stepReasons(w, "placed")[0]; got != "placed in 5B (2/30), the most room of 2 grade-5 classes with room" {
		t.Errorf("placed: %q", got)
	}
	invited := stepReasons(w, "guardian_invited")
	if !strings.Contains(invited[0], "Guardian pat@home.example (parent, pat@home.example) has an account already") ||
		!strings.Contains(invited[1], "Guardian sam@home.example (parent) invited") {
		t.Errorf("invitations: %q", invited)
	}
	if got := stepReasons(w, "records_ready")[0]; got != "Mia Moss is on the roster of 5B (2/30): attendance and performance can be recorded" {
		t.Errorf("records_ready: %q", got)
	}
	if w.Reason != "Mia Moss enrolled in 5B: 1 guardian account(s) invited, 1 already invited, welcome sent, attendance and performance records ready" {
		t.Errorf("reason %q", w.Reason)
	}
	if w.Subject != "student-"+mia || w.SchoolID != env.school || len(w.Deadlines) != 0 {
		t.Errorf("subject %q school %q deadlines %+v", w.Subject, w.SchoolID, w.Deadlines)
	}
	if lw := env.workflow(sagas.StudentEnrollmentName, leo); lw.State != sagas.StateCompleted ||
		stepReasons(lw, "placed")[0] != "placed in 5B (1/30), the most room of 2 grade-5 classes with room" {
		t.Errorf("Leo: %s", systemtest.Describe(lw))
	}

	// The store: two placements, two invitations (Pat once, for Leo).
	c := env.loadClass(s.c5B)
	if !c.HasStudent(leo) || !c.HasStudent(mia) || len(c.Roster()) != 2 {
		t.Errorf("5B roster %v", c.Roster())
	}
	if n := len(env.events(domain.StudentAssignedToClassType)); n != 4 {
		t.Errorf("%d student.assigned_to_class.v1, want 4 (2 before, Leo, Mia)", n)
	}
	if n := len(env.events(domain.GuardianInvitedType)); n != 2 {
		t.Errorf("%d guardian.invited.v1, want 2", n)
	}

	// Messages: Pat got an invitation and two welcomes, Sam an invitation
	// and a welcome, Tina (5B's only teacher) two notes.
	pat, sam := commands.GuardianID(env.school, "pat@home.example"), commands.GuardianID(env.school, "sam@home.example")
	for _, tc := range []struct {
		who      string
		kind     domain.RecipientKind
		id       string
		subjects []string
	}{
		{"Pat", domain.RecipientGuardian, pat, []string{"Your guardian account at Hillside", "Welcome to Hillside, Leo Moss", "Welcome to Hillside, Mia Moss"}},
		{"Sam", domain.RecipientGuardian, sam, []string{"Your guardian account at Hillside", "Welcome to Hillside, Mia Moss"}},
		{"Tina", domain.RecipientTeacher, s.tina, []string{"New student in 5B: Leo Moss", "New student in 5B: Mia Moss"}},
		{"Tom", domain.RecipientTeacher, s.tom, nil},
	} {
		var got []string
		for _, m := range env.messagesTo(tc.kind, tc.id) {
			got = append(got, m.Subject)
		}
		if !slices.Equal(got, tc.subjects) {
			t.Errorf("%s's messages %q, want %q", tc.who, got, tc.subjects)
		}
	}
	if n := len(env.messages()); n != 7 {
		t.Errorf("%d messages, want 7", n)
	}
	for _, m := range env.messagesTo(domain.RecipientGuardian, sam) {
		if strings.HasPrefix(m.Subject, "Welcome") && (m.Category != domain.CategoryWelcome || !strings.Contains(m.Body, "placed in class 5B")) {
			t.Errorf("Sam's welcome: %+v", m)
		}
	}
}

func TestStudentEnrollmentPlacesInvitesWelcomesAndCompletes(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1EnrollmentSchool(env)
	leo, mia := w1EnrollSiblings(env)
	w1CheckEnrolled(t, env, s, leo, mia)
}

func TestStudentEnrollmentEveryEventTwice(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	env.twice = true
	s := w1EnrollmentSchool(env)
	leo, mia := w1EnrollSiblings(env)
	env.after = env.skipped // and everything once more
	env.pump()
	w1CheckEnrolled(t, env, s, leo, mia)
}

// A crash after the placement and the invitations, before the runtime's
// commit: the redelivered event finds the student placed and goes on;
// nothing is done twice.
func TestStudentEnrollmentCrashAfterPlacing(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	env.wrap = func(s sagas.Saga) sagas.Saga { return &crashAfter{Saga: s, typ: domain.StudentEnrolledType} }
	env.restart()
	s := w1EnrollmentSchool(env)
	leo := env.student("Leo Moss", 5, "pat@home.example")
	if err := env.tryPump(); !errors.Is(err, errCrash) {
		t.Fatalf("pump: %v, want the simulated crash", err)
	}
	env.pump() // the redelivery
	mia := env.student("Mia Moss", 5, "pat@home.example", "sam@home.example")
	env.pump()
	w1CheckEnrolled(t, env, s, leo, mia)
	if got := stepReasons(env.workflow(sagas.StudentEnrollmentName, leo), "placed")[0]; got != "placed in 5B (1/30), the most room of 2 grade-5 classes with room" {
		// The retry placed Leo by the same command: recorded as the placement.
		t.Errorf("Leo placed: %q", got)
	}
}

func TestStudentEnrollmentWaitsAndIsPlacedWhenAClassHasRoom(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	full := env.class("5A", 5, 1, domain.ClassSubjectInput{Subject: "mathematics"})
	env.place(env.student("Ada", 5, "ada.parent@home.example"), full)
	env.skip()
	mia := env.student("Mia Moss", 5, "sam@home.example")
	env.pump()

	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateRunning || w.Step != "office_notified" || stepReasons(w, "waiting")[0] != "no grade-5 class has room: 5A 1/1" {
		t.Fatalf("after the enrolment: %s", systemtest.Describe(w))
	}
	if len(w.Deadlines) != 1 || w.Deadlines[0].Name != "placement_retry" || !w.Deadlines[0].DueAt.Equal(env.clock.Now().Add(time.Hour)) {
		t.Fatalf("deadlines %+v", w.Deadlines)
	}
	office := env.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)
	if len(office) != 1 || office[0].Subject != "Mia Moss is waiting for a place in grade 5" ||
		!strings.Contains(office[0].Body, "no grade-5 class has room: 5A 1/1") {
		t.Fatalf("office: %+v", office)
	}
	if n := env.fire(); n != 0 {
		t.Fatalf("%d deadlines fired before due", n)
	}

	// An hour on, still no room: tried again, the same reason is not
	// recorded again, the office is not told twice.
	env.clock.Advance(time.Hour)
	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired when due, want 1", n)
	}
	w = env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateRunning || len(stepReasons(w, "waiting")) != 1 || len(env.messages()) != 1 {
		t.Fatalf("after a retry without room: %s", systemtest.Describe(w))
	}

	// A class opens; the service restarts; the next retry places Mia.
	c5B := env.class("5B", 5, 20, domain.ClassSubjectInput{Subject: "mathematics"})
	env.pump()
	env.restart()
	env.clock.Advance(time.Hour)
	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired after the restart, want 1", n)
	}
	w = env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateCompleted {
		t.Fatalf("after the class opened: %s", systemtest.Describe(w))
	}
	if got := stepReasons(w, "placed")[0]; got != "placed in 5B (1/20), the only grade-5 class with room, after waiting since 2026-09-07 08:00 UTC" {
		t.Errorf("placed: %q", got)
	}
	if got := stepReasons(w, "teachers_told")[0]; got != "5B has no teacher assigned yet: no teacher to tell" {
		t.Errorf("teachers_told: %q", got)
	}
	if !env.loadClass(c5B).HasStudent(mia) {
		t.Errorf("Mia is not on 5B's roster")
	}
	for _, d := range w.Deadlines {
		if d.State != sagas.DeadlineFired {
			t.Errorf("deadline %+v", d)
		}
	}
	if len(w.Deadlines) != 2 {
		t.Errorf("%d deadlines, want 2 (both fired)", len(w.Deadlines))
	}
	env.clock.Advance(2 * time.Hour)
	if n := env.fire(); n != 0 {
		t.Errorf("%d deadlines fired after the completion", n)
	}
}

func TestStudentEnrollmentWithoutAClassOfTheGrade(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	env.class("5A", 5, 30, domain.ClassSubjectInput{Subject: "mathematics"})
	mia := env.student("Mia Moss", 7, "sam@home.example")
	env.pump()
	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateRunning || stepReasons(w, "waiting")[0] != "the school has no grade-7 class" {
		t.Fatalf("%s", systemtest.Describe(w))
	}
}

// A student withdrawn while waiting ends the workflow, completed with
// the reason; its retry is cancelled.
func TestStudentEnrollmentWithdrawnWhileWaiting(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	mia := env.student("Mia Moss", 5, "sam@home.example")
	env.pump()
	_, err := commands.NewWithdrawStudentHandler(env.repo).Handle(t.Context(), env.admin(),
		commands.WithdrawStudent{StudentID: mia, Reason: "moved abroad"})
	if err != nil {
		t.Fatal(err)
	}
	env.twice = true
	env.pump()
	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateCompleted || stepReasons(w, "withdrawn")[0] != "Mia Moss was withdrawn from the school (moved abroad)" ||
		w.Reason != "ended: Mia Moss was withdrawn while waiting for a place in grade 5; no class, no invitation, no message" {
		t.Fatalf("%s", systemtest.Describe(w))
	}
	if len(w.Deadlines) != 1 || w.Deadlines[0].State != sagas.DeadlineCancelled {
		t.Errorf("deadlines %+v", w.Deadlines)
	}
	env.clock.Advance(2 * time.Hour)
	if n := env.fire(); n != 0 {
		t.Errorf("%d deadlines fired after the withdrawal", n)
	}
	if n := len(env.events(domain.GuardianInvitedType)); n != 0 {
		t.Errorf("%d invitations", n)
	}
}

// A notification refused for good fails the workflow on that step with
// the reason; the placement and invitations before it stay recorded.
func TestStudentEnrollmentFailsWithTheReason(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	w1EnrollmentSchool(env)
	env.note.failOnce("Welcome to", &domain.Error{Kind: domain.KindForbidden, Message: "the recipient has opted out of messages"})
	mia := env.student("Mia Moss", 5, "sam@home.example")
	env.pump()
	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateFailed || w.Step != "guardian_welcomed" ||
		w.Reason != "the welcome message to Guardian sam@home.example was refused: the recipient has opted out of messages" {
		t.Fatalf("%s", systemtest.Describe(w))
	}
	if got := stepNames(w); !slices.Equal(got, []string{"placed", "guardian_invited", "guardian_welcomed", "guardian_welcomed"}) {
		t.Errorf("steps %v", got)
	}
}

// A read that fails (the directory) rolls the handling back; the event,
// delivered again, is handled as if for the first time.
func TestStudentEnrollmentRetriesAfterAFailedRead(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1EnrollmentSchool(env)
	env.dir.failClasses(errors.New("read model unavailable"))
	leo := env.student("Leo Moss", 5, "pat@home.example")
	if err := env.tryPump(); err == nil || !strings.Contains(err.Error(), "read model unavailable") {
		t.Fatalf("pump: %v, want the directory's failure", err)
	}
	if _, err := sagas.GetWorkflow(t.Context(), env.pool, sagas.WorkflowID(sagas.StudentEnrollmentName, leo)); err == nil {
		t.Fatal("the failed handling left an instance")
	}
	env.dir.failClasses(nil)
	env.pump()
	mia := env.student("Mia Moss", 5, "pat@home.example", "sam@home.example")
	env.pump()
	w1CheckEnrolled(t, env, s, leo, mia)
}

// A student an administrator placed before the workflow ran keeps their
// class; the workflow goes on from there.
func TestStudentEnrollmentKeepsAPlacementByAnAdministrator(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1EnrollmentSchool(env)
	mia := env.student("Mia Moss", 5, "sam@home.example")
	env.place(mia, s.c5A) // 5B has more room
	env.pump()
	w := env.workflow(sagas.StudentEnrollmentName, mia)
	if w.State != sagas.StateCompleted || stepReasons(w, "placed")[0] != "Mia Moss is already in 5A (3/30)" {
		t.Fatalf("%s", systemtest.Describe(w))
	}
	if n := len(env.events(domain.StudentAssignedToClassType)); n != 3 {
		t.Errorf("%d assignments, want 3 (Ada, Ben, Mia by the administrator)", n)
	}
	if got := env.messagesTo(domain.RecipientTeacher, s.tom); len(got) != 1 || got[0].Subject != "New student in 5A: Mia Moss" {
		t.Errorf("Tom's messages %+v", got)
	}
}
