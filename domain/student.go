package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Student is a learner enrolled in a school, with the guardians who may act
// for them and the class they are in.
type Student struct {
	Root
	schoolID    string
	name        string
	dateOfBirth Date
	gradeLevel  GradeLevel
	guardians   []Guardian
	classID     string
	status      StudentStatus
}

// Sentinels of the student aggregate, matched with errors.Is.
var (
	ErrAlreadyEnrolled  = errors.New("student is already enrolled")
	ErrStudentNotFound  = errors.New("student not found")
	ErrStudentWithdrawn = errors.New("student is withdrawn")
)

// Enrolment limits.
const (
	// MaxGuardians bounds the guardians recorded per student.
	MaxGuardians = 4
	// MaxStudentAge (years) rejects dates of birth that are typos: the
	// school covers kindergarten to grade 13, adult learners included.
	MaxStudentAge = 30
)

// StudentStatus is where a student stands. Stored values: append-only.
type StudentStatus string

const (
	StudentStatusEnrolled  StudentStatus = "enrolled"
	StudentStatusWithdrawn StudentStatus = "withdrawn"
)

func (s StudentStatus) IsZero() bool { return s == "" }

// Relationship is how a guardian relates to the student. Stored values:
// append-only.
type Relationship string

const (
	RelationshipMother      Relationship = "mother"
	RelationshipFather      Relationship = "father"
	RelationshipParent      Relationship = "parent"
	RelationshipGuardian    Relationship = "guardian"
	RelationshipGrandparent Relationship = "grandparent"
	RelationshipSibling     Relationship = "sibling"
	RelationshipOther       Relationship = "other"
)

// Relationships lists the valid relationships.
func Relationships() []Relationship {
	return []Relationship{RelationshipMother, RelationshipFather, RelationshipParent, RelationshipGuardian,
		RelationshipGrandparent, RelationshipSibling, RelationshipOther}
}

// RelationshipFromString parses a relationship.
func RelationshipFromString(field, s string) (Relationship, error) {
	r := Relationship(strings.ToLower(strings.TrimSpace(s)))
	if r == "" {
		return "", Invalid(field, "is required")
	}
	if !slices.Contains(Relationships(), r) {
		return "", Invalid(field, "%q is not a relationship (mother, father, parent, guardian, grandparent, sibling, other)", s)
	}
	return r, nil
}

func (r Relationship) IsZero() bool { return r == "" }

// Guardian is a person who may act for a student. Its ID is minted by the
// caller (the same person may guard several students).
type Guardian struct {
	GuardianID   string       `json:"guardianId"`
	Name         string       `json:"name"`
	Email        Email        `json:"email"`
	Relationship Relationship `json:"relationship"`
}

// GuardianInput is the unvalidated form of Guardian.
type GuardianInput struct {
	GuardianID   string
	Name         string
	Email        string
	Relationship string
}

// StudentInfo is what a Class needs to know of a student; the command layer
// reads it from the loaded Student (Info).
type StudentInfo struct {
	ID         string
	SchoolID   string
	GradeLevel GradeLevel
	Active     bool
}

// StudentEnrolled: a student was enrolled in a school with their guardians.
type StudentEnrolled struct {
	StudentID   string     `json:"studentId"`
	SchoolID    string     `json:"schoolId"`
	Name        string     `json:"name"`
	DateOfBirth Date       `json:"dateOfBirth"`
	GradeLevel  GradeLevel `json:"gradeLevel"`
	Guardians   []Guardian `json:"guardians"`
	At          time.Time  `json:"at"`
}

// StudentAssignedToClass: the student moved into a class (from
// PreviousClassID, empty when they had none).
type StudentAssignedToClass struct {
	StudentID       string    `json:"studentId"`
	SchoolID        string    `json:"schoolId"`
	ClassID         string    `json:"classId"`
	PreviousClassID string    `json:"previousClassId"`
	At              time.Time `json:"at"`
}

// StudentWithdrawn: the student left the school. ClassID is the class they
// were in (empty if none), so its roster can be updated.
type StudentWithdrawn struct {
	StudentID string    `json:"studentId"`
	SchoolID  string    `json:"schoolId"`
	ClassID   string    `json:"classId"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

var (
	StudentEnrolledType        = register[StudentEnrolled](ChannelStudent)
	StudentAssignedToClassType = register[StudentAssignedToClass](ChannelStudent)
	StudentWithdrawnType       = register[StudentWithdrawn](ChannelStudent)
)

func (StudentEnrolled) EventType() string        { return "student.enrolled.v1" }
func (StudentAssignedToClass) EventType() string { return "student.assigned_to_class.v1" }
func (StudentWithdrawn) EventType() string       { return "student.withdrawn.v1" }

// NewStudent returns the blank student with the given ID, for loading its
// stream. It validates nothing: Enroll does, when the student is created.
func NewStudent(id string) *Student { return &Student{Root: Root{id: id}} }

// StreamID is "student-<id>".
func (s *Student) StreamID() string { return "student-" + s.id }

// Enroll creates the student. dateOfBirth may not be after the day of at
// nor more than MaxStudentAge years before it; there are 1..MaxGuardians
// guardians with distinct IDs and e-mail addresses.
func (s *Student) Enroll(schoolID, name string, dateOfBirth Date, gradeLevel int, guardians []GuardianInput, at time.Time) error {
	if err := RequireID("id", s.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", schoolID); err != nil {
		return err
	}
	name, err := RequireText("name", name, maxNameLen)
	if err != nil {
		return err
	}
	// The domain does not know the school's time zone: a date is in the
	// future only while it has begun nowhere on earth (UTC+14).
	today := DateOf(at.Add(14 * time.Hour))
	switch {
	case dateOfBirth.IsZero():
		return Invalid("dateOfBirth", "is required")
	case dateOfBirth.After(today):
		return Invalid("dateOfBirth", "%s is in the future", dateOfBirth)
	case dateOfBirth.Before(Date{t: today.t.AddDate(-MaxStudentAge, 0, 0)}):
		return Invalid("dateOfBirth", "%s is more than %d years ago", dateOfBirth, MaxStudentAge)
	}
	grade, err := ParseGradeLevel("gradeLevel", gradeLevel)
	if err != nil {
		return err
	}
	gs, err := parseGuardians(guardians)
	if err != nil {
		return err
	}
	if !s.status.IsZero() {
		return ruleError(KindConflict, "", ErrAlreadyEnrolled, "student %s is already enrolled", s.id)
	}
	raise(s, StudentEnrolled{StudentID: s.id, SchoolID: schoolID, Name: name, DateOfBirth: dateOfBirth,
		GradeLevel: grade, Guardians: gs, At: at.UTC()})
	return nil
}

func parseGuardians(in []GuardianInput) ([]Guardian, error) {
	switch {
	case len(in) == 0:
		return nil, Invalid("guardians", "needs at least one guardian")
	case len(in) > MaxGuardians:
		return nil, Invalid("guardians", "has %d guardians, at most %d are allowed", len(in), MaxGuardians)
	}
	out := make([]Guardian, 0, len(in))
	for i, g := range in {
		f := fmt.Sprintf("guardians[%d]", i)
		if err := RequireID(f+".guardianId", g.GuardianID); err != nil {
			return nil, err
		}
		name, err := RequireText(f+".name", g.Name, maxNameLen)
		if err != nil {
			return nil, err
		}
		email, err := ParseEmail(f+".email", g.Email)
		if err != nil {
			return nil, err
		}
		rel, err := RelationshipFromString(f+".relationship", g.Relationship)
		if err != nil {
			return nil, err
		}
		for j, prev := range out {
			if prev.GuardianID == g.GuardianID {
				return nil, Invalid(f+".guardianId", "is the same guardian as guardians[%d]", j)
			}
			if prev.Email == email {
				return nil, Invalid(f+".email", "%s is already given for guardians[%d]", email, j)
			}
		}
		out = append(out, Guardian{GuardianID: g.GuardianID, Name: name, Email: email, Relationship: rel})
	}
	return out, nil
}

// AssignToClass records that the student is now in classID. Assigning the
// class the student is already in raises nothing. The roster itself is the
// Class aggregate's: the command layer adds the student to the new class
// and removes them from the old one (PreviousClassID) around this call.
func (s *Student) AssignToClass(classID string, at time.Time) error {
	if err := RequireID("classId", classID); err != nil {
		return err
	}
	if err := s.requireEnrolled(); err != nil {
		return err
	}
	if s.classID == classID {
		return nil
	}
	raise(s, StudentAssignedToClass{StudentID: s.id, SchoolID: s.schoolID, ClassID: classID,
		PreviousClassID: s.classID, At: at.UTC()})
	return nil
}

// Withdraw takes the student off the school; they leave their class.
// reason is optional free text.
func (s *Student) Withdraw(reason string, at time.Time) error {
	reason, err := optionalText("reason", reason, maxReasonLen)
	if err != nil {
		return err
	}
	if err := s.requireEnrolled(); err != nil {
		return err
	}
	raise(s, StudentWithdrawn{StudentID: s.id, SchoolID: s.schoolID, ClassID: s.classID, Reason: reason, At: at.UTC()})
	return nil
}

func (s *Student) requireEnrolled() error {
	switch s.status {
	case "":
		return ruleError(KindNotFound, "", ErrStudentNotFound, "student %s not found", s.id)
	case StudentStatusWithdrawn:
		return ruleError(KindConflict, "", ErrStudentWithdrawn, "student %s is withdrawn", s.id)
	}
	return nil
}

func (s *Student) apply(e Event) {
	switch e := e.(type) {
	case StudentEnrolled:
		s.status = StudentStatusEnrolled
		s.schoolID, s.name, s.dateOfBirth, s.gradeLevel = e.SchoolID, e.Name, e.DateOfBirth, e.GradeLevel
		s.guardians = slices.Clone(e.Guardians)
	case StudentAssignedToClass:
		s.classID = e.ClassID
	case StudentWithdrawn:
		s.status = StudentStatusWithdrawn
		s.classID = ""
	}
}

// RequireInSchool returns a not-found error (ErrStudentNotFound) unless
// the student was enrolled in schoolID (withdrawn students included). The
// command layer calls it before acting on a student named by a request, so
// another school's student is never touched nor revealed.
func (s *Student) RequireInSchool(schoolID string) error {
	if s.status.IsZero() || s.schoolID != schoolID {
		return ruleError(KindNotFound, "", ErrStudentNotFound, "student %s not found", s.id)
	}
	return nil
}

// Exists reports whether the student has been enrolled (and maybe since
// withdrawn).
func (s *Student) Exists() bool { return !s.status.IsZero() }

// Active reports whether the student is enrolled and not withdrawn.
func (s *Student) Active() bool           { return s.status == StudentStatusEnrolled }
func (s *Student) Status() StudentStatus  { return s.status }
func (s *Student) SchoolID() string       { return s.schoolID }
func (s *Student) Name() string           { return s.name }
func (s *Student) DateOfBirth() Date      { return s.dateOfBirth }
func (s *Student) GradeLevel() GradeLevel { return s.gradeLevel }

// ClassID is the student's current class, empty when none (or withdrawn).
func (s *Student) ClassID() string { return s.classID }

// Guardians returns a copy of the student's guardians.
func (s *Student) Guardians() []Guardian { return slices.Clone(s.guardians) }

// GuardianIDs lists the IDs of the student's guardians, in enrolment order.
func (s *Student) GuardianIDs() []string {
	ids := make([]string, len(s.guardians))
	for i, g := range s.guardians {
		ids[i] = g.GuardianID
	}
	return ids
}

// HasGuardian reports whether guardianID may act for the student.
func (s *Student) HasGuardian(guardianID string) bool {
	return slices.ContainsFunc(s.guardians, func(g Guardian) bool { return g.GuardianID == guardianID })
}

// Info is the student as a Class sees it.
func (s *Student) Info() StudentInfo {
	return StudentInfo{ID: s.id, SchoolID: s.schoolID, GradeLevel: s.gradeLevel, Active: s.Active()}
}
