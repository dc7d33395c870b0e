package sagas_test

import (
	"encoding/json"
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

// w1School is the school of the onboarding tests: Bob teaches 5A english
// on Monday to Thursday, period 1 (timetable version 1); Carol teaches 6A
// mathematics. 5A and 5B need a mathematics teacher, 5B a physics one.
type w1School struct {
	bob, carol string
	c5A, c5B   string
	c6A        string
}

func w1OnboardingSchool(env *w1Env) w1School {
	env.t.Helper()
	var s w1School
	s.bob = env.teacher("Bob Brown", 5, nil, "english")
	s.carol = env.teacher("Carol Clark", 5, nil, "mathematics")
	s.c5A = env.class("5A", 5, 30, domain.ClassSubjectInput{Subject: "mathematics"}, domain.ClassSubjectInput{Subject: "english", TeacherID: s.bob})
	s.c5B = env.class("5B", 5, 30, domain.ClassSubjectInput{Subject: "mathematics"}, domain.ClassSubjectInput{Subject: "physics"})
	s.c6A = env.class("6A", 6, 30, domain.ClassSubjectInput{Subject: "mathematics", TeacherID: s.carol})
	var entries []domain.TimetableEntryInput
	for _, day := range []string{"monday", "tuesday", "wednesday", "thursday"} {
		entries = append(entries, domain.TimetableEntryInput{ClassID: s.c5A, Subject: "english", TeacherID: s.bob, Day: day, Period: 1})
	}
	_, err := commands.NewPublishTimetableHandler(env.repo).Handle(env.t.Context(), env.admin(),
		commands.PublishTimetable{ChangeKind: "major", Reason: "term start", Entries: entries})
	if err != nil {
		env.t.Fatalf("timetable: %v", err)
	}
	env.skip() // the workflows start with what follows
	return s
}

// w1Ann creates Ann, who teaches mathematics and physics, prefers the
// mornings and teaches at most two lessons a day: 10 of the 12 lessons
// 5A and 5B need fit.
func w1Ann(env *w1Env) string {
	return env.teacher("Ann Adams", 2, []string{"morning"}, "mathematics", "physics")
}

// w1CheckOnboarded checks the end state of Ann's onboarding in
// w1OnboardingSchool, whatever the deliveries: each command and message
// once.
func w1CheckOnboarded(t *testing.T, env *w1Env, s w1School, ann string) {
	t.Helper()
	w := env.workflow(sagas.TeacherOnboardingName, ann)
	if w.State != sagas.StateCompleted {
		t.Fatalf("state %s at %s (%s); steps %v", w.State, w.Step, w.Reason, stepNames(w))
	}
	wantSteps := []string{"timetable_planned", "plan_explained", "lesson_unfilled", "lesson_unfilled",
		"timetable_published", "subject_assigned", "subject_assigned", "subject_assigned",
		"teacher_welcomed", "admins_notified", "onboarding_recorded", "completed"}
	if got := stepNames(w); !slices.Equal(got, wantSteps) {
		t.Fatalf("steps %v, want %v\n%s", got, wantSteps, systemtest.Describe(w))
	}
	if want := "Ann Adams onboarded: 10 lessons a week in timetable version 2, 2 lessons unfilled; welcome sent, administrators informed"; w.Reason != want {
		t.Errorf("reason %q, want %q", w.Reason, want)
	}
	for _, r := range stepReasons(w, "lesson_unfilled") {
		if !strings.Contains(r, "1 of 4 weekly lessons unfilled") || !strings.Contains(r, "maximum of 2 lessons a day") {
			t.Errorf("unfilled reason %q does not name the binding rule", r)
		}
	}
	if w.Subject != "teacher-"+ann || w.SchoolID != env.school {
		t.Errorf("subject %q school %q", w.Subject, w.SchoolID)
	}
	for _, d := range w.Deadlines {
		if d.Name != "welcome" || d.State != sagas.DeadlineFired {
			t.Errorf("deadline %+v", d)
		}
	}

	// The timetable: one new version, the existing lessons kept, Ann's
	// ten added without a clash or more than two a day.
	if n := len(env.events(domain.TimetablePublishedType)); n != 2 {
		t.Fatalf("%d timetable publications, want 2 (the existing and Ann's)", n)
	}
	tt := env.loadTimetable()
	if tt.CurrentVersion() != 2 || len(tt.Entries()) != 14 {
		t.Fatalf("timetable version %d with %d entries, want version 2 with 14", tt.CurrentVersion(), len(tt.Entries()))
	}
	if got := len(tt.TeacherSlots(s.bob)); got != 4 {
		t.Errorf("Bob has %d lessons, want his 4 kept", got)
	}
	for _, d := range []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday, domain.Friday} {
		if n := tt.TeacherLoad(ann, d); n != 2 {
			t.Errorf("Ann has %d lessons on %s, want 2", n, d)
		}
	}
	for _, slot := range tt.TeacherSlots(ann) {
		if domain.TimeOfDayOf(slot.Period) != domain.Morning {
			t.Errorf("Ann teaches in %s, not a morning", slot)
		}
	}

	// The class subjects without a teacher are hers; 6A's stays Carol's.
	if n := len(env.events(domain.ClassSubjectTeacherAssignedType)); n != 3 {
		t.Errorf("%d subject assignments, want 3", n)
	}
	for _, cs := range []struct {
		class   string
		subject domain.Subject
		want    string
	}{{s.c5A, "mathematics", ann}, {s.c5B, "mathematics", ann}, {s.c5B, "physics", ann}, {s.c6A, "mathematics", s.carol}, {s.c5A, "english", s.bob}} {
		if got, _ := env.loadClass(cs.class).SubjectTeacher(cs.subject); got != cs.want {
			t.Errorf("class %s %s: teacher %s, want %s", cs.class, cs.subject, got, cs.want)
		}
	}

	// The welcome and the office's summary, once each.
	msgs := env.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	welcome := env.messagesTo(domain.RecipientTeacher, ann)
	if len(welcome) != 1 || welcome[0].Category != domain.CategoryWelcome ||
		!strings.Contains(welcome[0].Body, "10 lessons") || !strings.Contains(welcome[0].Body, "5B") {
		t.Errorf("welcome: %+v", welcome)
	}
	office := env.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)
	if len(office) != 1 || !strings.Contains(office[0].Subject, "2 lessons unfilled") ||
		!strings.Contains(office[0].Body, "1 of 4 weekly lessons unfilled") {
		t.Errorf("office summary: %+v", office)
	}

	// teacher.onboarded.v1, once, with the figures.
	onboarded := env.events(domain.TeacherOnboardedType)
	if len(onboarded) != 1 {
		t.Fatalf("%d teacher.onboarded.v1, want 1", len(onboarded))
	}
	var e domain.TeacherOnboarded
	if err := json.Unmarshal(onboarded[0].Data, &e); err != nil {
		t.Fatal(err)
	}
	if e.TimetableVersion != 2 || e.LessonsAssigned != 10 || e.LessonsUnfilled != 2 || e.WelcomeMessageID != welcome[0].MessageID {
		t.Errorf("teacher.onboarded.v1 %+v", e)
	}
}

func TestTeacherOnboardingPlansPublishesWelcomesAndCompletes(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1OnboardingSchool(env)
	ann := w1Ann(env)
	env.pump()

	// First step: planned, published, assigned; the welcome is due.
	w := env.workflow(sagas.TeacherOnboardingName, ann)
	if w.State != sagas.StateRunning || w.Step != "subject_assigned" {
		t.Fatalf("after the event: %s at %s (%s)", w.State, w.Step, w.Reason)
	}
	if r := stepReasons(w, "timetable_published")[0]; !strings.HasPrefix(r, "version 2: 10 lessons for Ann Adams") {
		t.Errorf("publication step %q", r)
	}
	if len(w.Deadlines) != 1 || w.Deadlines[0].Name != "welcome" || w.Deadlines[0].State != sagas.DeadlinePending {
		t.Fatalf("deadlines %+v", w.Deadlines)
	}
	if n := len(env.messages()); n != 0 {
		t.Fatalf("%d messages before the welcome step", n)
	}

	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired, want 1", n)
	}
	w1CheckOnboarded(t, env, s, ann)
	// The other teachers' creation did not start anything.
	if _, err := sagas.GetWorkflow(t.Context(), env.pool, sagas.WorkflowID(sagas.TeacherOnboardingName, s.bob)); err == nil {
		t.Errorf("an onboarding started for Bob, created before the pump")
	}
}

func TestTeacherOnboardingEveryEventTwice(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	env.twice = true
	s := w1OnboardingSchool(env)
	ann := w1Ann(env)
	env.pump()
	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired, want 1", n)
	}
	env.pump()
	if n := env.fire(); n != 0 {
		t.Fatalf("%d deadlines fired again", n)
	}
	// Everything stored since the workflows started, delivered again.
	env.after = env.skipped
	env.pump()
	w1CheckOnboarded(t, env, s, ann)
}

func TestTeacherOnboardingRestartBetweenSteps(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1OnboardingSchool(env)
	ann := w1Ann(env)
	env.pump()
	env.restart() // the service restarts between the two steps
	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired after the restart, want 1", n)
	}
	env.restart()
	if n := env.fire(); n != 0 {
		t.Fatalf("%d deadlines fired after a second restart", n)
	}
	w1CheckOnboarded(t, env, s, ann)
}

// A crash after the first step's commands, before the runtime's commit:
// the event is delivered again and the retry finds its own publication in
// the store. It plans against the timetable as it was before, so it
// records the same plan and publishes nothing new.
func TestTeacherOnboardingCrashAfterPublishing(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	env.wrap = func(s sagas.Saga) sagas.Saga { return &crashAfter{Saga: s, typ: domain.TeacherCreatedType} }
	env.restart()
	s := w1OnboardingSchool(env)
	ann := w1Ann(env)
	if err := env.tryPump(); !errors.Is(err, errCrash) {
		t.Fatalf("pump: %v, want the simulated crash", err)
	}
	if n := len(env.events(domain.TimetablePublishedType)); n != 2 {
		t.Fatalf("%d publications after the crash, want 2 (the first attempt's is stored)", n)
	}
	env.pump() // the redelivery
	env.fire()
	w1CheckOnboarded(t, env, s, ann)
}

// A notification failing for a while (a transient error) makes the
// runtime retry the deadline later; the welcome sent by the failed
// attempt is not sent again.
func TestTeacherOnboardingRetriesTheWelcomeStep(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	s := w1OnboardingSchool(env)
	ann := w1Ann(env)
	env.pump()
	env.note.failOnce("Teacher onboarded", errors.New("inbox unavailable"))
	if _, err := env.rt.FireDue(t.Context()); err == nil || !strings.Contains(err.Error(), "inbox unavailable") {
		t.Fatalf("FireDue: %v, want the notifier's failure", err)
	}
	if w := env.workflow(sagas.TeacherOnboardingName, ann); w.State != sagas.StateRunning || w.Deadlines[0].Attempts != 1 {
		t.Fatalf("after the failure: %s, deadlines %+v", w.State, w.Deadlines)
	}
	env.clock.Advance(time.Minute)
	if n := env.fire(); n != 1 {
		t.Fatalf("%d deadlines fired on the retry, want 1", n)
	}
	w1CheckOnboarded(t, env, s, ann)
}

func TestTeacherOnboardingWithoutClassesCompletesWithoutLessons(t *testing.T) {
	t.Parallel()
	env := w1NewEnv(t)
	ann := w1Ann(env)
	env.pump()
	env.fire()
	w := env.workflow(sagas.TeacherOnboardingName, ann)
	if w.State != sagas.StateCompleted {
		t.Fatalf("state %s at %s (%s)", w.State, w.Step, w.Reason)
	}
	if got := stepReasons(w, "timetable_unchanged"); len(got) != 1 || got[0] != "no lessons assigned: the school has no class yet" {
		t.Errorf("timetable_unchanged %q", got)
	}
	if !strings.Contains(w.Reason, "without lessons (the school has no class yet)") {
		t.Errorf("reason %q", w.Reason)
	}
	if n := len(env.events(domain.TimetablePublishedType)); n != 0 {
		t.Errorf("%d publications, want none", n)
	}
	welcome := env.messagesTo(domain.RecipientTeacher, ann)
	if len(welcome) != 1 || !strings.Contains(welcome[0].Body, "no lessons") {
		t.Errorf("welcome %+v", welcome)
	}
	if n := len(env.messagesTo(domain.RecipientAdmin, domain.OfficeRecipientID)); n != 1 {
		t.Errorf("%d office messages, want 1", n)
	}
	var e domain.TeacherOnboarded
	onboarded := env.events(domain.TeacherOnboardedType)
	if len(onboarded) != 1 || json.Unmarshal(onboarded[0].Data, &e) != nil || e.TimetableVersion != 0 || e.LessonsAssigned != 0 {
		t.Errorf("teacher.onboarded.v1 %+v", e)
	}
}

func TestTeacherOnboardingFailsWithTheReason(t *testing.T) {
	t.Parallel()
	deactivate := func(env *w1Env, id string) {
		_, err := commands.NewDeactivateTeacherHandler(env.repo).Handle(t.Context(), env.admin(),
			commands.DeactivateTeacher{TeacherID: id, Reason: "left"})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("deactivated before the start", func(t *testing.T) {
		t.Parallel()
		env := w1NewEnv(t)
		w1OnboardingSchool(env)
		ann := w1Ann(env)
		deactivate(env, ann)
		env.pump()
		w := env.workflow(sagas.TeacherOnboardingName, ann)
		if w.State != sagas.StateFailed || w.Step != "teacher_loaded" ||
			w.Reason != "Ann Adams was deactivated before the onboarding started: no lesson assigned, no message sent" {
			t.Fatalf("%s at %s: %q", w.State, w.Step, w.Reason)
		}
		if n := len(env.events(domain.TimetablePublishedType)) + len(env.messages()); n != 1 {
			t.Errorf("%d publications and messages, want only the school's first timetable", n)
		}
	})
	t.Run("welcome refused", func(t *testing.T) {
		t.Parallel()
		env := w1NewEnv(t)
		w1OnboardingSchool(env)
		ann := w1Ann(env)
		env.pump()
		env.note.failOnce("Welcome to", &domain.Error{Kind: domain.KindForbidden, Message: "the recipient has opted out of messages"})
		env.fire()
		w := env.workflow(sagas.TeacherOnboardingName, ann)
		if w.State != sagas.StateFailed || w.Step != "teacher_welcomed" ||
			w.Reason != "the welcome message to Ann Adams was refused: the recipient has opted out of messages" {
			t.Fatalf("%s", systemtest.Describe(w))
		}
		if got := stepNames(w); len(got) != 9 || got[7] != "subject_assigned" {
			t.Errorf("steps %v: the first step's records should stay", got)
		}
		if n := len(env.messages()); n != 0 {
			t.Errorf("%d messages", n)
		}
	})
	t.Run("deactivated between the steps", func(t *testing.T) {
		t.Parallel()
		env := w1NewEnv(t)
		w1OnboardingSchool(env)
		ann := w1Ann(env)
		env.pump()
		deactivate(env, ann)
		env.fire()
		w := env.workflow(sagas.TeacherOnboardingName, ann)
		if w.State != sagas.StateFailed || w.Step != "teacher_checked" || w.Reason != "Ann Adams was deactivated before the welcome: "+
			"no message sent; their 10 lessons in timetable version 2 stay until the school changes the timetable" {
			t.Fatalf("%s", systemtest.Describe(w))
		}
		// What was done before stays recorded; nothing was sent.
		for _, step := range []string{"timetable_published", "subject_assigned"} {
			if len(stepReasons(w, step)) == 0 {
				t.Errorf("step %s missing from %v", step, stepNames(w))
			}
		}
		if n := len(env.messages()) + len(env.events(domain.TeacherOnboardedType)); n != 0 {
			t.Errorf("%d messages and onboarding events, want none", n)
		}
		if len(w.Deadlines) != 1 || w.Deadlines[0].State != sagas.DeadlineFired {
			t.Errorf("deadlines %+v", w.Deadlines)
		}
	})
}
