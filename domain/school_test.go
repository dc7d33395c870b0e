package domain_test

import (
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

func TestSchool_Register(t *testing.T) {
	t.Parallel()
	registered := domain.SchoolRegistered{SchoolID: peopleSchoolA, Name: "Riverside High", Timezone: "Europe/Berlin", At: peopleAt}
	runScenarios(t, func() *domain.School { return domain.NewSchool(peopleSchoolA) }, []scenario[*domain.School]{
		{
			name: "registers a new school, trimming its name",
			when: func(s *domain.School) error { return s.Register("  Riverside High ", "Europe/Berlin", peopleAt) },
			then: []domain.Event{registered},
		},
		{
			name:     "rejects a school registered before",
			given:    []domain.Event{registered},
			when:     func(s *domain.School) error { return s.Register("Riverside High", "Europe/Berlin", peopleLater) },
			thenErr:  domain.ErrSchoolAlreadyRegistered,
			thenKind: domain.KindConflict,
		},
		{
			name:      "rejects a blank name",
			when:      func(s *domain.School) error { return s.Register("   ", "Europe/Berlin", peopleAt) },
			thenKind:  domain.KindInvalid,
			thenField: "name",
		},
		{
			name:      "rejects an overlong name",
			when:      func(s *domain.School) error { return s.Register(strings.Repeat("x", 201), "UTC", peopleAt) },
			thenKind:  domain.KindInvalid,
			thenField: "name",
		},
		{
			name:      "rejects a missing timezone",
			when:      func(s *domain.School) error { return s.Register("Riverside High", "", peopleAt) },
			thenKind:  domain.KindInvalid,
			thenField: "timezone",
		},
	})
}

func TestSchool_RegisterWithoutID(t *testing.T) {
	t.Parallel()
	s := domain.NewSchool("")
	assertRejected(t, s.Register("Riverside High", "UTC", peopleAt), nil, domain.KindInvalid, "id")
}

func TestSchool_State(t *testing.T) {
	t.Parallel()
	s := domain.NewSchool(peopleSchoolA)
	if s.Exists() {
		t.Fatal("a blank school exists")
	}
	assertRejected(t, s.RequireExists(), domain.ErrSchoolNotFound, domain.KindNotFound, "")
	if got, want := s.StreamID(), "school-"+peopleSchoolA; got != want {
		t.Errorf("StreamID() = %q, want %q", got, want)
	}
	s = domain.Rehydrate(domain.NewSchool(peopleSchoolA), []domain.Event{
		domain.SchoolRegistered{SchoolID: peopleSchoolA, Name: "Riverside High", Timezone: "Europe/Berlin", At: peopleAt},
	}, 1)
	if !s.Exists() || s.RequireExists() != nil {
		t.Fatal("a registered school does not exist")
	}
	if s.Name() != "Riverside High" || s.Timezone() != "Europe/Berlin" || !s.RegisteredAt().Equal(peopleAt) || s.Version() != 1 {
		t.Errorf("state = %q %q %v v%d", s.Name(), s.Timezone(), s.RegisteredAt(), s.Version())
	}
}
