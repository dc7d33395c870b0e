package domain_test

import (
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const gaID = "guardian-1"

func gaGuardians(t *testing.T) []domain.Guardian {
	return []domain.Guardian{
		{GuardianID: "guardian-0", Name: "Max Doe", Email: peopleEmail(t, "max@family.example.org"), Relationship: domain.RelationshipFather},
		{GuardianID: gaID, Name: "Ana Doe", Email: peopleEmail(t, "ana@family.example.org"), Relationship: domain.RelationshipMother},
	}
}

func gaInvited(t *testing.T) domain.GuardianInvited {
	return domain.GuardianInvited{GuardianID: gaID, SchoolID: acSchool, StudentID: "student-1", Name: "Ana Doe",
		Email: peopleEmail(t, "ana@family.example.org"), At: acNow}
}

func TestGuardianInvite(t *testing.T) {
	t.Parallel()
	invite := func(school, student string, guardians []domain.Guardian) func(*domain.GuardianAccount) error {
		return func(g *domain.GuardianAccount) error { return g.Invite(school, student, guardians, acNow) }
	}

	t.Run("with the name and address of the enrolment", func(t *testing.T) {
		t.Parallel()
		g := academic(t, domain.NewGuardianAccount(gaID)).when(invite(acSchool, "student-1", gaGuardians(t))).then(gaInvited(t))
		if !g.Invited() || !g.InvitedAt().Equal(acNow) || g.Name() != "Ana Doe" || g.Email().String() != "ana@family.example.org" ||
			g.SchoolID() != acSchool || g.StudentID() != "student-1" || g.StreamID() != "guardian-guardian-1" {
			t.Errorf("state: %v %s %s %s %s", g.Invited(), g.Name(), g.Email(), g.SchoolID(), g.StreamID())
		}
	})

	t.Run("once, whichever child", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewGuardianAccount(gaID)).given(gaInvited(t)).
			when(invite(acSchool, "student-2", gaGuardians(t))).thenErr(domain.ErrGuardianAlreadyInvited)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("only a guardian of the student", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewGuardianAccount(gaID)).
			when(invite(acSchool, "student-1", gaGuardians(t)[:1])).thenKind(domain.KindNotFound, "guardianId")
	})

	for _, tt := range []struct{ name, id, school, student, field string }{
		{"no guardian", "", acSchool, "student-1", "guardianId"},
		{"no school", gaID, "", "student-1", "schoolId"},
		{"no student", gaID, acSchool, " ", "studentId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewGuardianAccount(tt.id)).when(invite(tt.school, tt.student, gaGuardians(t))).thenInvalid(tt.field)
		})
	}
}
