package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const (
	liamID  = "s-liam"
	class7a = "c-7a"
	class7b = "c-7b"
)

func liamEnrolled(t *testing.T) domain.StudentEnrolled {
	return domain.StudentEnrolled{
		StudentID: liamID, SchoolID: peopleSchoolA, Name: "Liam Okafor",
		DateOfBirth: peopleDate(t, "2013-03-14"), GradeLevel: 7,
		Guardians: []domain.Guardian{
			{GuardianID: "g-1", Name: "Ngozi Okafor", Email: peopleEmail(t, "ngozi@example.org"), Relationship: domain.RelationshipMother},
			{GuardianID: "g-2", Name: "Chidi Okafor", Email: peopleEmail(t, "chidi@example.org"), Relationship: domain.RelationshipGrandparent},
		},
		At: peopleAt,
	}
}

func liamGuardians() []domain.GuardianInput {
	return []domain.GuardianInput{
		{GuardianID: "g-1", Name: " Ngozi Okafor ", Email: "Ngozi@Example.org", Relationship: "Mother"},
		{GuardianID: "g-2", Name: "Chidi Okafor", Email: "chidi@example.org", Relationship: "grandparent"},
	}
}

func TestStudent_Enroll(t *testing.T) {
	t.Parallel()
	enrolled := liamEnrolled(t)
	dob := peopleDate(t, "2013-03-14")
	enroll := func(dob domain.Date, grade int, guardians []domain.GuardianInput) func(*domain.Student) error {
		return func(s *domain.Student) error {
			return s.Enroll(peopleSchoolA, "Liam Okafor", dob, grade, guardians, peopleAt)
		}
	}
	withGuardian := func(i int, edit func(*domain.GuardianInput)) []domain.GuardianInput {
		gs := liamGuardians()
		edit(&gs[i])
		return gs
	}
	tooMany := make([]domain.GuardianInput, domain.MaxGuardians+1)
	for i := range tooMany {
		tooMany[i] = domain.GuardianInput{GuardianID: "g-" + string(rune('a'+i)), Name: "G", Email: string(rune('a'+i)) + "@example.org", Relationship: "other"}
	}
	runScenarios(t, func() *domain.Student { return domain.NewStudent(liamID) }, []scenario[*domain.Student]{
		{
			name: "enrolls a student with guardians",
			when: enroll(dob, 7, liamGuardians()),
			then: []domain.Event{enrolled},
		},
		{
			name: "accepts a child born today",
			when: enroll(domain.DateOf(peopleAt), 0, liamGuardians()),
			then: []domain.Event{func() domain.Event {
				e := enrolled
				e.DateOfBirth, e.GradeLevel = domain.DateOf(peopleAt), 0
				return e
			}()},
		},
		{
			name:     "rejects a student enrolled before",
			given:    []domain.Event{enrolled},
			when:     enroll(dob, 7, liamGuardians()),
			thenErr:  domain.ErrAlreadyEnrolled,
			thenKind: domain.KindConflict,
		},
		{
			name:     "rejects a withdrawn student enrolled again",
			given:    []domain.Event{enrolled, domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, At: peopleAt}},
			when:     enroll(dob, 7, liamGuardians()),
			thenErr:  domain.ErrAlreadyEnrolled,
			thenKind: domain.KindConflict,
		},
		{name: "rejects a blank name",
			when:     func(s *domain.Student) error { return s.Enroll(peopleSchoolA, "", dob, 7, liamGuardians(), peopleAt) },
			thenKind: domain.KindInvalid, thenField: "name"},
		{name: "rejects a missing school",
			when:     func(s *domain.Student) error { return s.Enroll("", "Liam", dob, 7, liamGuardians(), peopleAt) },
			thenKind: domain.KindInvalid, thenField: "schoolId"},
		{name: "rejects a missing date of birth", when: enroll(domain.Date{}, 7, liamGuardians()),
			thenKind: domain.KindInvalid, thenField: "dateOfBirth"},
		{name: "rejects a date of birth in the future", when: enroll(domain.DateOf(peopleAt).AddDays(1), 7, liamGuardians()),
			thenKind: domain.KindInvalid, thenField: "dateOfBirth"},
		{name: "rejects an absurdly old student", when: enroll(peopleDate(t, "1995-08-31"), 7, liamGuardians()),
			thenKind: domain.KindInvalid, thenField: "dateOfBirth"},
		{name: "rejects a grade level below kindergarten", when: enroll(dob, -1, liamGuardians()),
			thenKind: domain.KindInvalid, thenField: "gradeLevel"},
		{name: "rejects a grade level above the last", when: enroll(dob, 14, liamGuardians()),
			thenKind: domain.KindInvalid, thenField: "gradeLevel"},
		{name: "rejects no guardians", when: enroll(dob, 7, nil),
			thenKind: domain.KindInvalid, thenField: "guardians"},
		{name: "rejects too many guardians", when: enroll(dob, 7, tooMany),
			thenKind: domain.KindInvalid, thenField: "guardians"},
		{name: "rejects a guardian without ID",
			when:     enroll(dob, 7, withGuardian(1, func(g *domain.GuardianInput) { g.GuardianID = "" })),
			thenKind: domain.KindInvalid, thenField: "guardians[1].guardianId"},
		{name: "rejects a guardian without name",
			when:     enroll(dob, 7, withGuardian(0, func(g *domain.GuardianInput) { g.Name = " " })),
			thenKind: domain.KindInvalid, thenField: "guardians[0].name"},
		{name: "rejects a guardian with an invalid email",
			when:     enroll(dob, 7, withGuardian(1, func(g *domain.GuardianInput) { g.Email = "chidi" })),
			thenKind: domain.KindInvalid, thenField: "guardians[1].email"},
		{name: "rejects a guardian with an unknown relationship",
			when:     enroll(dob, 7, withGuardian(1, func(g *domain.GuardianInput) { g.Relationship = "neighbour" })),
			thenKind: domain.KindInvalid, thenField: "guardians[1].relationship"},
		{name: "rejects a guardian without relationship",
			when:     enroll(dob, 7, withGuardian(0, func(g *domain.GuardianInput) { g.Relationship = "" })),
			thenKind: domain.KindInvalid, thenField: "guardians[0].relationship"},
		{name: "rejects two guardians with one email",
			when:     enroll(dob, 7, withGuardian(1, func(g *domain.GuardianInput) { g.Email = "NGOZI@example.org" })),
			thenKind: domain.KindInvalid, thenField: "guardians[1].email"},
		{name: "rejects one guardian listed twice",
			when:     enroll(dob, 7, withGuardian(1, func(g *domain.GuardianInput) { g.GuardianID = "g-1" })),
			thenKind: domain.KindInvalid, thenField: "guardians[1].guardianId"},
	})
}

func TestStudent_EnrollOldestAllowed(t *testing.T) {
	t.Parallel()
	s := domain.NewStudent(liamID)
	if err := s.Enroll(peopleSchoolA, "Liam", peopleDate(t, "1995-09-01"), 13, liamGuardians(), peopleAt); err != nil {
		t.Fatalf("a student of exactly %d years is rejected: %v", domain.MaxStudentAge, err)
	}
}

func TestStudent_AssignToClass(t *testing.T) {
	t.Parallel()
	enrolled := liamEnrolled(t)
	in7a := domain.StudentAssignedToClass{StudentID: liamID, SchoolID: peopleSchoolA, ClassID: class7a, At: peopleAt}
	assign := func(classID string) func(*domain.Student) error {
		return func(s *domain.Student) error { return s.AssignToClass(classID, peopleLater) }
	}
	runScenarios(t, func() *domain.Student { return domain.NewStudent(liamID) }, []scenario[*domain.Student]{
		{
			name:  "assigns a student without class",
			given: []domain.Event{enrolled},
			when:  assign(class7a),
			then: []domain.Event{domain.StudentAssignedToClass{StudentID: liamID, SchoolID: peopleSchoolA,
				ClassID: class7a, At: peopleLater}},
		},
		{
			name:  "moves a student to another class",
			given: []domain.Event{enrolled, in7a},
			when:  assign(class7b),
			then: []domain.Event{domain.StudentAssignedToClass{StudentID: liamID, SchoolID: peopleSchoolA,
				ClassID: class7b, PreviousClassID: class7a, At: peopleLater}},
		},
		{
			name:  "assigning the current class raises nothing",
			given: []domain.Event{enrolled, in7a},
			when:  assign(class7a),
		},
		{
			name:     "rejects a withdrawn student",
			given:    []domain.Event{enrolled, domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, At: peopleAt}},
			when:     assign(class7a),
			thenErr:  domain.ErrStudentWithdrawn,
			thenKind: domain.KindConflict,
		},
		{
			name:     "rejects an unknown student",
			when:     assign(class7a),
			thenErr:  domain.ErrStudentNotFound,
			thenKind: domain.KindNotFound,
		},
		{
			name:      "rejects a missing class",
			given:     []domain.Event{enrolled},
			when:      assign(" "),
			thenKind:  domain.KindInvalid,
			thenField: "classId",
		},
	})
}

func TestStudent_Withdraw(t *testing.T) {
	t.Parallel()
	enrolled := liamEnrolled(t)
	in7a := domain.StudentAssignedToClass{StudentID: liamID, SchoolID: peopleSchoolA, ClassID: class7a, At: peopleAt}
	withdrawn := domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, ClassID: class7a, Reason: "moved abroad", At: peopleLater}
	runScenarios(t, func() *domain.Student { return domain.NewStudent(liamID) }, []scenario[*domain.Student]{
		{
			name:  "withdraws a student, naming the class they leave",
			given: []domain.Event{enrolled, in7a},
			when:  func(s *domain.Student) error { return s.Withdraw("moved abroad", peopleLater) },
			then:  []domain.Event{withdrawn},
		},
		{
			name:  "withdraws a student without class or reason",
			given: []domain.Event{enrolled},
			when:  func(s *domain.Student) error { return s.Withdraw("", peopleLater) },
			then:  []domain.Event{domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, At: peopleLater}},
		},
		{
			name:     "rejects a student already withdrawn",
			given:    []domain.Event{enrolled, in7a, withdrawn},
			when:     func(s *domain.Student) error { return s.Withdraw("again", peopleLater) },
			thenErr:  domain.ErrStudentWithdrawn,
			thenKind: domain.KindConflict,
		},
		{
			name:     "rejects an unknown student",
			when:     func(s *domain.Student) error { return s.Withdraw("", peopleLater) },
			thenErr:  domain.ErrStudentNotFound,
			thenKind: domain.KindNotFound,
		},
		{
			name:      "rejects an overlong reason",
			given:     []domain.Event{enrolled},
			when:      func(s *domain.Student) error { return s.Withdraw(strings.Repeat("r", 501), peopleLater) },
			thenKind:  domain.KindInvalid,
			thenField: "reason",
		},
	})
}

func TestStudent_State(t *testing.T) {
	t.Parallel()
	s := domain.NewStudent(liamID)
	if s.Exists() || s.Active() || !s.Status().IsZero() {
		t.Fatal("a blank student exists")
	}
	if got, want := s.StreamID(), "student-"+liamID; got != want {
		t.Errorf("StreamID() = %q, want %q", got, want)
	}
	s = domain.Rehydrate(domain.NewStudent(liamID), []domain.Event{
		liamEnrolled(t),
		domain.StudentAssignedToClass{StudentID: liamID, SchoolID: peopleSchoolA, ClassID: class7a, At: peopleAt},
	}, 2)
	if !s.Active() || s.Status() != domain.StudentStatusEnrolled || s.ClassID() != class7a || s.GradeLevel() != 7 ||
		s.SchoolID() != peopleSchoolA || s.Name() != "Liam Okafor" || s.DateOfBirth().String() != "2013-03-14" {
		t.Fatalf("unexpected state: %+v", s)
	}
	if got := s.GuardianIDs(); !reflect.DeepEqual(got, []string{"g-1", "g-2"}) {
		t.Errorf("GuardianIDs() = %v", got)
	}
	if !s.HasGuardian("g-2") || s.HasGuardian("g-3") {
		t.Error("HasGuardian is wrong")
	}
	s.Guardians()[0].Name = "changed"
	if s.Guardians()[0].Name != "Ngozi Okafor" {
		t.Error("Guardians() shares the student's slice")
	}
	want := domain.StudentInfo{ID: liamID, SchoolID: peopleSchoolA, GradeLevel: 7, Active: true}
	if got := s.Info(); got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	s = domain.Rehydrate(s, []domain.Event{domain.StudentWithdrawn{StudentID: liamID, SchoolID: peopleSchoolA, ClassID: class7a, At: peopleLater}}, 3)
	if s.Active() || !s.Exists() || s.Status() != domain.StudentStatusWithdrawn || s.ClassID() != "" || s.Info().Active {
		t.Errorf("unexpected state after withdrawal: %+v", s)
	}
}

func TestRelationshipFromString(t *testing.T) {
	t.Parallel()
	for _, r := range domain.Relationships() {
		got, err := domain.RelationshipFromString("relationship", " "+strings.ToUpper(string(r))+" ")
		if err != nil || got != r {
			t.Errorf("RelationshipFromString(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := domain.RelationshipFromString("relationship", "uncle-ish"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("an unknown relationship gives %v", err)
	}
}
