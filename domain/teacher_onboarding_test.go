package domain_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

func TestTeacher_CompleteOnboarding(t *testing.T) {
	t.Parallel()
	in := domain.OnboardingInput{TimetableVersion: 3, LessonsAssigned: 10, LessonsUnfilled: 2, WelcomeMessageID: "msg-1"}
	onboarded := domain.TeacherOnboarded{TeacherID: adaID, SchoolID: peopleSchoolA, TimetableVersion: 3,
		LessonsAssigned: 10, LessonsUnfilled: 2, WelcomeMessageID: "msg-1", At: peopleLater}
	deactivated := domain.TeacherDeactivated{TeacherID: adaID, SchoolID: peopleSchoolA, At: peopleAt}
	complete := func(in domain.OnboardingInput) func(*domain.Teacher) error {
		return func(tr *domain.Teacher) error { return tr.CompleteOnboarding(in, peopleLater) }
	}
	edit := func(f func(*domain.OnboardingInput)) domain.OnboardingInput {
		c := in
		f(&c)
		return c
	}
	nothing := edit(func(c *domain.OnboardingInput) { c.TimetableVersion, c.LessonsAssigned, c.LessonsUnfilled = 0, 0, 6 })
	nothingDone := onboarded
	nothingDone.TimetableVersion, nothingDone.LessonsAssigned, nothingDone.LessonsUnfilled = 0, 0, 6

	runScenarios(t, func() *domain.Teacher { return domain.NewTeacher(adaID) }, []scenario[*domain.Teacher]{
		{name: "completes", given: []domain.Event{adaCreated(t)}, when: complete(in), then: []domain.Event{onboarded}},
		{name: "with no lesson assigned and no timetable", given: []domain.Event{adaCreated(t)}, when: complete(nothing),
			then: []domain.Event{nothingDone}},
		{name: "once", given: []domain.Event{adaCreated(t), onboarded}, when: complete(in),
			thenErr: domain.ErrTeacherOnboarded, thenKind: domain.KindConflict},
		{name: "not an unknown teacher", when: complete(in), thenErr: domain.ErrTeacherNotFound, thenKind: domain.KindNotFound},
		{name: "not a deactivated teacher", given: []domain.Event{adaCreated(t), deactivated}, when: complete(in),
			thenErr: domain.ErrTeacherInactive, thenKind: domain.KindConflict},
		{name: "negative version", given: []domain.Event{adaCreated(t)}, when: complete(edit(func(c *domain.OnboardingInput) { c.TimetableVersion = -1 })),
			thenKind: domain.KindInvalid, thenField: "timetableVersion"},
		{name: "lessons without a version", given: []domain.Event{adaCreated(t)}, when: complete(edit(func(c *domain.OnboardingInput) { c.TimetableVersion = 0 })),
			thenKind: domain.KindInvalid, thenField: "timetableVersion"},
		{name: "negative lessons assigned", given: []domain.Event{adaCreated(t)}, when: complete(edit(func(c *domain.OnboardingInput) { c.LessonsAssigned = -1 })),
			thenKind: domain.KindInvalid, thenField: "lessonsAssigned"},
		{name: "negative lessons unfilled", given: []domain.Event{adaCreated(t)}, when: complete(edit(func(c *domain.OnboardingInput) { c.LessonsUnfilled = -1 })),
			thenKind: domain.KindInvalid, thenField: "lessonsUnfilled"},
		{name: "no welcome message", given: []domain.Event{adaCreated(t)}, when: complete(edit(func(c *domain.OnboardingInput) { c.WelcomeMessageID = " " })),
			thenKind: domain.KindInvalid, thenField: "welcomeMessageId"},
	})

	tr := domain.Rehydrate(domain.NewTeacher(adaID), []domain.Event{adaCreated(t), onboarded}, 2)
	if !tr.Onboarded() || !tr.Active() {
		t.Errorf("onboarded %v, active %v", tr.Onboarded(), tr.Active())
	}
}
