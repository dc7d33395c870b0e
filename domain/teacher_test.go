package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const adaID = "t-ada"

func adaCreated(t *testing.T) domain.TeacherCreated {
	return domain.TeacherCreated{
		TeacherID: adaID, SchoolID: peopleSchoolA, Name: "Ada Lovelace",
		Email:    peopleEmail(t, "ada@example.org"),
		Subjects: []domain.Subject{"mathematics", "physics"},
		Preferences: domain.TeacherPreferences{
			PreferredTimeSlots: []domain.TimeOfDay{domain.Morning},
			MaxClassesPerDay:   4,
		},
		At: peopleAt,
	}
}

func TestTeacher_Create(t *testing.T) {
	t.Parallel()
	created := adaCreated(t)
	prefs := domain.PreferencesInput{PreferredTimeSlots: []string{"morning"}, MaxClassesPerDay: 4}
	create := func(name, email string, subjects []string, p domain.PreferencesInput) func(*domain.Teacher) error {
		return func(tr *domain.Teacher) error {
			return tr.Create(peopleSchoolA, name, email, subjects, p, peopleAt)
		}
	}
	subjects := []string{"Mathematics", " physics "}
	runScenarios(t, func() *domain.Teacher { return domain.NewTeacher(adaID) }, []scenario[*domain.Teacher]{
		{
			name: "creates a teacher, normalizing email and subjects",
			when: create("Ada Lovelace", " Ada@Example.org ", subjects, prefs),
			then: []domain.Event{created},
		},
		{
			name: "orders preferred slots and accepts no preference",
			when: create("Ada Lovelace", "ada@example.org", subjects,
				domain.PreferencesInput{PreferredTimeSlots: []string{"late", "Morning"}, MaxClassesPerDay: 10}),
			then: []domain.Event{func() domain.Event {
				e := created
				e.Preferences = domain.TeacherPreferences{PreferredTimeSlots: []domain.TimeOfDay{domain.Morning, domain.Late}, MaxClassesPerDay: 10}
				return e
			}()},
		},
		{
			name: "an empty preference list is recorded as empty, not null",
			when: create("Ada Lovelace", "ada@example.org", subjects, domain.PreferencesInput{MaxClassesPerDay: 1}),
			then: []domain.Event{func() domain.Event {
				e := created
				e.Preferences = domain.TeacherPreferences{PreferredTimeSlots: []domain.TimeOfDay{}, MaxClassesPerDay: 1}
				return e
			}()},
		},
		{
			name:      "rejects the email of an existing teacher",
			given:     []domain.Event{created},
			when:      create("Ada Byron", "ada@example.org", subjects, prefs),
			thenErr:   domain.ErrEmailTaken,
			thenKind:  domain.KindConflict,
			thenField: "email",
		},
		{name: "rejects a blank name", when: create(" ", "ada@example.org", subjects, prefs),
			thenKind: domain.KindInvalid, thenField: "name"},
		{name: "rejects an overlong name", when: create(strings.Repeat("a", 201), "ada@example.org", subjects, prefs),
			thenKind: domain.KindInvalid, thenField: "name"},
		{name: "rejects a missing email", when: create("Ada", "", subjects, prefs),
			thenKind: domain.KindInvalid, thenField: "email"},
		{name: "rejects an invalid email", when: create("Ada", "ada@", subjects, prefs),
			thenKind: domain.KindInvalid, thenField: "email"},
		{name: "rejects no subjects", when: create("Ada", "ada@example.org", nil, prefs),
			thenKind: domain.KindInvalid, thenField: "subjects"},
		{name: "rejects a blank subject", when: create("Ada", "ada@example.org", []string{"maths", " "}, prefs),
			thenKind: domain.KindInvalid, thenField: "subjects[1]"},
		{name: "rejects a duplicate subject", when: create("Ada", "ada@example.org", []string{"maths", "MATHS"}, prefs),
			thenKind: domain.KindInvalid, thenField: "subjects[1]"},
		{name: "rejects an unknown time slot",
			when:     create("Ada", "ada@example.org", subjects, domain.PreferencesInput{PreferredTimeSlots: []string{"morning", "night"}, MaxClassesPerDay: 4}),
			thenKind: domain.KindInvalid, thenField: "preferences.preferredTimeSlots[1]"},
		{name: "rejects a time slot listed twice",
			when:     create("Ada", "ada@example.org", subjects, domain.PreferencesInput{PreferredTimeSlots: []string{"late", "late"}, MaxClassesPerDay: 4}),
			thenKind: domain.KindInvalid, thenField: "preferences.preferredTimeSlots[1]"},
		{name: "rejects zero classes per day",
			when:     create("Ada", "ada@example.org", subjects, domain.PreferencesInput{MaxClassesPerDay: 0}),
			thenKind: domain.KindInvalid, thenField: "preferences.maxClassesPerDay"},
		{name: "rejects more classes per day than periods",
			when:     create("Ada", "ada@example.org", subjects, domain.PreferencesInput{MaxClassesPerDay: domain.MaxPeriod + 1}),
			thenKind: domain.KindInvalid, thenField: "preferences.maxClassesPerDay"},
		{name: "rejects a missing school",
			when: func(tr *domain.Teacher) error {
				return tr.Create("", "Ada", "ada@example.org", subjects, prefs, peopleAt)
			},
			thenKind: domain.KindInvalid, thenField: "schoolId"},
	})
}

func TestTeacher_UpdatePreferences(t *testing.T) {
	t.Parallel()
	created := adaCreated(t)
	deactivated := domain.TeacherDeactivated{TeacherID: adaID, SchoolID: peopleSchoolA, At: peopleAt}
	update := func(p domain.PreferencesInput) func(*domain.Teacher) error {
		return func(tr *domain.Teacher) error { return tr.UpdatePreferences(p, peopleLater) }
	}
	runScenarios(t, func() *domain.Teacher { return domain.NewTeacher(adaID) }, []scenario[*domain.Teacher]{
		{
			name:  "replaces the preferences",
			given: []domain.Event{created},
			when:  update(domain.PreferencesInput{PreferredTimeSlots: []string{"afternoon", "morning"}, MaxClassesPerDay: 6}),
			then: []domain.Event{domain.TeacherPreferencesUpdated{TeacherID: adaID, SchoolID: peopleSchoolA,
				Preferences: domain.TeacherPreferences{PreferredTimeSlots: []domain.TimeOfDay{domain.Morning, domain.Afternoon}, MaxClassesPerDay: 6},
				At:          peopleLater}},
		},
		{
			name:  "clears the preferred slots",
			given: []domain.Event{created},
			when:  update(domain.PreferencesInput{MaxClassesPerDay: 4}),
			then: []domain.Event{domain.TeacherPreferencesUpdated{TeacherID: adaID, SchoolID: peopleSchoolA,
				Preferences: domain.TeacherPreferences{PreferredTimeSlots: []domain.TimeOfDay{}, MaxClassesPerDay: 4},
				At:          peopleLater}},
		},
		{
			name:  "unchanged preferences raise nothing",
			given: []domain.Event{created},
			when:  update(domain.PreferencesInput{PreferredTimeSlots: []string{" MORNING "}, MaxClassesPerDay: 4}),
		},
		{
			name:      "rejects invalid preferences",
			given:     []domain.Event{created},
			when:      update(domain.PreferencesInput{MaxClassesPerDay: -1}),
			thenKind:  domain.KindInvalid,
			thenField: "preferences.maxClassesPerDay",
		},
		{
			name:     "rejects a deactivated teacher",
			given:    []domain.Event{created, deactivated},
			when:     update(domain.PreferencesInput{MaxClassesPerDay: 2}),
			thenErr:  domain.ErrTeacherInactive,
			thenKind: domain.KindConflict,
		},
		{
			name:     "rejects an unknown teacher",
			when:     update(domain.PreferencesInput{MaxClassesPerDay: 2}),
			thenErr:  domain.ErrTeacherNotFound,
			thenKind: domain.KindNotFound,
		},
	})
}

func TestTeacher_Deactivate(t *testing.T) {
	t.Parallel()
	created := adaCreated(t)
	deactivated := domain.TeacherDeactivated{TeacherID: adaID, SchoolID: peopleSchoolA, Reason: "retired", At: peopleLater}
	runScenarios(t, func() *domain.Teacher { return domain.NewTeacher(adaID) }, []scenario[*domain.Teacher]{
		{
			name:  "deactivates with a reason",
			given: []domain.Event{created},
			when:  func(tr *domain.Teacher) error { return tr.Deactivate(" retired ", peopleLater) },
			then:  []domain.Event{deactivated},
		},
		{
			name:  "deactivates without a reason",
			given: []domain.Event{created},
			when:  func(tr *domain.Teacher) error { return tr.Deactivate("  ", peopleLater) },
			then:  []domain.Event{domain.TeacherDeactivated{TeacherID: adaID, SchoolID: peopleSchoolA, At: peopleLater}},
		},
		{
			name:     "rejects a teacher already deactivated",
			given:    []domain.Event{created, deactivated},
			when:     func(tr *domain.Teacher) error { return tr.Deactivate("again", peopleLater) },
			thenErr:  domain.ErrTeacherInactive,
			thenKind: domain.KindConflict,
		},
		{
			name:      "rejects an overlong reason",
			given:     []domain.Event{created},
			when:      func(tr *domain.Teacher) error { return tr.Deactivate(strings.Repeat("r", 501), peopleLater) },
			thenKind:  domain.KindInvalid,
			thenField: "reason",
		},
		{
			name:     "rejects an unknown teacher",
			when:     func(tr *domain.Teacher) error { return tr.Deactivate("", peopleLater) },
			thenErr:  domain.ErrTeacherNotFound,
			thenKind: domain.KindNotFound,
		},
	})
}

func TestTeacher_State(t *testing.T) {
	t.Parallel()
	tr := domain.NewTeacher(adaID)
	if tr.Exists() || tr.Active() {
		t.Fatal("a blank teacher exists")
	}
	if got, want := tr.StreamID(), "teacher-"+adaID; got != want {
		t.Errorf("StreamID() = %q, want %q", got, want)
	}
	tr = domain.Rehydrate(domain.NewTeacher(adaID), []domain.Event{adaCreated(t)}, 1)
	if !tr.Exists() || !tr.Active() || tr.SchoolID() != peopleSchoolA || tr.Name() != "Ada Lovelace" ||
		tr.Email().String() != "ada@example.org" || tr.MaxClassesPerDay() != 4 {
		t.Fatalf("unexpected state after creation: %+v", tr)
	}
	if !tr.Teaches("physics") || tr.Teaches("history") {
		t.Error("Teaches is wrong")
	}
	if got := tr.PreferredTimeSlots(); !reflect.DeepEqual(got, []domain.TimeOfDay{domain.Morning}) {
		t.Errorf("PreferredTimeSlots() = %v", got)
	}
	p := tr.Preferences()
	if !p.Prefers(3) || p.Prefers(5) {
		t.Error("Prefers is wrong for a morning teacher")
	}
	if !(domain.TeacherPreferences{MaxClassesPerDay: 2}).Prefers(9) {
		t.Error("no preference must prefer every period")
	}
	want := domain.TeacherInfo{SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "physics"}, MaxClassesPerDay: 4, Active: true}
	if got := tr.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	// Accessors hand out copies: changing them leaves the teacher alone.
	tr.Subjects()[0] = "art"
	p.PreferredTimeSlots[0] = domain.Late
	if !tr.Teaches("mathematics") || tr.PreferredTimeSlots()[0] != domain.Morning {
		t.Error("accessors share the teacher's slices")
	}
	tr = domain.Rehydrate(tr, []domain.Event{domain.TeacherDeactivated{TeacherID: adaID, SchoolID: peopleSchoolA, At: peopleLater}}, 2)
	if tr.Active() || tr.Info().Active || !tr.Exists() {
		t.Error("a deactivated teacher is still active")
	}
}
