package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const (
	maryID = "t-mary" // teaches mathematics and physics
	omarID = "t-omar" // teaches history, deactivated
	hanaID = "t-hana" // teaches history
)

func peopleTeachers() map[string]domain.TeacherInfo {
	return map[string]domain.TeacherInfo{
		adaID:   {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "physics"}, MaxClassesPerDay: 2, Active: true},
		maryID:  {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "physics"}, MaxClassesPerDay: 4, Active: true},
		omarID:  {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"history"}, MaxClassesPerDay: 4, Active: false},
		hanaID:  {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"history"}, MaxClassesPerDay: 3, Active: true},
		"t-far": {SchoolID: peopleSchoolB, Subjects: []domain.Subject{"history"}, MaxClassesPerDay: 4, Active: true},
	}
}

func class7aCreated(capacity int) domain.ClassCreated {
	return domain.ClassCreated{
		ClassID: class7a, SchoolID: peopleSchoolA, Name: "7A", GradeLevel: 7, Capacity: capacity,
		Subjects: []domain.ClassSubject{{Subject: "mathematics", TeacherID: adaID}, {Subject: "history"}},
		At:       peopleAt,
	}
}

func TestClass_Create(t *testing.T) {
	t.Parallel()
	subjects := []domain.ClassSubjectInput{{Subject: " Mathematics", TeacherID: adaID}, {Subject: "history"}}
	withSubject := func(i int, edit func(*domain.ClassSubjectInput)) []domain.ClassSubjectInput {
		s := []domain.ClassSubjectInput{{Subject: "mathematics", TeacherID: adaID}, {Subject: "history"}}
		edit(&s[i])
		return s
	}
	create := func(grade, capacity int, subs []domain.ClassSubjectInput) func(*domain.Class) error {
		return func(c *domain.Class) error {
			return c.Create(peopleSchoolA, "7A", grade, capacity, subs, peopleTeachers(), peopleAt)
		}
	}
	runScenarios(t, func() *domain.Class { return domain.NewClass(class7a) }, []scenario[*domain.Class]{
		{name: "creates a class with subjects and teachers", when: create(7, 28, subjects),
			then: []domain.Event{class7aCreated(28)}},
		{name: "rejects a class created before", given: []domain.Event{class7aCreated(28)}, when: create(7, 28, subjects),
			thenErr: domain.ErrClassExists, thenKind: domain.KindConflict},
		{name: "rejects a blank name", thenKind: domain.KindInvalid, thenField: "name",
			when: func(c *domain.Class) error {
				return c.Create(peopleSchoolA, "", 7, 28, subjects, peopleTeachers(), peopleAt)
			}},
		{name: "rejects a missing school", thenKind: domain.KindInvalid, thenField: "schoolId",
			when: func(c *domain.Class) error { return c.Create("", "7A", 7, 28, subjects, peopleTeachers(), peopleAt) }},
		{name: "rejects an invalid grade level", when: create(20, 28, subjects), thenKind: domain.KindInvalid, thenField: "gradeLevel"},
		{name: "rejects a zero capacity", when: create(7, 0, subjects), thenKind: domain.KindInvalid, thenField: "capacity"},
		{name: "rejects an excessive capacity", when: create(7, domain.MaxClassCapacity+1, subjects),
			thenKind: domain.KindInvalid, thenField: "capacity"},
		{name: "rejects no subjects", when: create(7, 28, nil), thenKind: domain.KindInvalid, thenField: "subjects"},
		{name: "rejects a blank subject", when: create(7, 28, withSubject(1, func(s *domain.ClassSubjectInput) { s.Subject = "" })),
			thenKind: domain.KindInvalid, thenField: "subjects[1].subject"},
		{name: "rejects a duplicate subject", when: create(7, 28, withSubject(1, func(s *domain.ClassSubjectInput) { s.Subject = "MATHEMATICS" })),
			thenKind: domain.KindInvalid, thenField: "subjects[1].subject"},
		{name: "rejects an unknown teacher", when: create(7, 28, withSubject(0, func(s *domain.ClassSubjectInput) { s.TeacherID = "t-nobody" })),
			thenErr: domain.ErrUnknownTeacher, thenKind: domain.KindInvalid, thenField: "subjects[0].teacherId"},
		{name: "rejects a teacher of another school", when: create(7, 28, withSubject(1, func(s *domain.ClassSubjectInput) { s.TeacherID = "t-far" })),
			thenErr: domain.ErrUnknownTeacher, thenKind: domain.KindInvalid, thenField: "subjects[1].teacherId"},
		{name: "rejects a deactivated teacher", when: create(7, 28, withSubject(1, func(s *domain.ClassSubjectInput) { s.TeacherID = omarID })),
			thenErr: domain.ErrTeacherInactive, thenKind: domain.KindConflict, thenField: "subjects[1].teacherId"},
		{name: "rejects a teacher who does not teach the subject", when: create(7, 28, withSubject(1, func(s *domain.ClassSubjectInput) { s.TeacherID = adaID })),
			thenErr: domain.ErrSubjectNotTaught, thenKind: domain.KindInvalid, thenField: "subjects[1].teacherId"},
	})
}

func TestClass_AssignSubjectTeacher(t *testing.T) {
	t.Parallel()
	created := class7aCreated(28)
	teachers := peopleTeachers()
	assign := func(subject, teacherID string) func(*domain.Class) error {
		return func(c *domain.Class) error {
			return c.AssignSubjectTeacher(subject, teacherID, teachers[teacherID], peopleLater)
		}
	}
	runScenarios(t, func() *domain.Class { return domain.NewClass(class7a) }, []scenario[*domain.Class]{
		{name: "replaces a subject's teacher", given: []domain.Event{created}, when: assign("Mathematics", maryID),
			then: []domain.Event{domain.ClassSubjectTeacherAssigned{ClassID: class7a, SchoolID: peopleSchoolA,
				Subject: "mathematics", TeacherID: maryID, PreviousTeacherID: adaID, At: peopleLater}}},
		{name: "assigning the current teacher raises nothing", given: []domain.Event{created}, when: assign("mathematics", adaID)},
		{name: "rejects a subject the class is not taught", given: []domain.Event{created}, when: assign("physics", maryID),
			thenErr: domain.ErrSubjectNotInClass, thenKind: domain.KindInvalid, thenField: "subject"},
		{name: "rejects a teacher who does not teach the subject", given: []domain.Event{created}, when: assign("history", maryID),
			thenErr: domain.ErrSubjectNotTaught, thenKind: domain.KindInvalid, thenField: "teacherId"},
		{name: "rejects a deactivated teacher", given: []domain.Event{created}, when: assign("history", omarID),
			thenErr: domain.ErrTeacherInactive, thenKind: domain.KindConflict, thenField: "teacherId"},
		{name: "rejects a teacher of another school", given: []domain.Event{created}, when: assign("history", "t-far"),
			thenErr: domain.ErrUnknownTeacher, thenKind: domain.KindInvalid, thenField: "teacherId"},
		{name: "rejects a missing teacher", given: []domain.Event{created}, when: assign("history", ""),
			thenKind: domain.KindInvalid, thenField: "teacherId"},
		{name: "rejects a blank subject", given: []domain.Event{created}, when: assign(" ", maryID),
			thenKind: domain.KindInvalid, thenField: "subject"},
		{name: "rejects an unknown class", when: assign("mathematics", maryID),
			thenErr: domain.ErrClassNotFound, thenKind: domain.KindNotFound},
	})
}

func TestClass_AddStudent(t *testing.T) {
	t.Parallel()
	liam := domain.StudentInfo{ID: liamID, SchoolID: peopleSchoolA, GradeLevel: 7, Active: true}
	added := func(id string) domain.ClassStudentAdded {
		return domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: id, At: peopleAt}
	}
	add := func(s domain.StudentInfo) func(*domain.Class) error {
		return func(c *domain.Class) error { return c.AddStudent(s, peopleLater) }
	}
	with := func(edit func(*domain.StudentInfo)) domain.StudentInfo {
		s := liam
		edit(&s)
		return s
	}
	runScenarios(t, func() *domain.Class { return domain.NewClass(class7a) }, []scenario[*domain.Class]{
		{name: "adds a student", given: []domain.Event{class7aCreated(2), added("s-1")}, when: add(liam),
			then: []domain.Event{domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: liamID, At: peopleLater}}},
		{name: "adds a student removed before", given: []domain.Event{class7aCreated(1), added(liamID),
			domain.ClassStudentRemoved{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: liamID, At: peopleAt}},
			when: add(liam),
			then: []domain.Event{domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: liamID, At: peopleLater}}},
		{name: "a student on the roster raises nothing, even in a full class",
			given: []domain.Event{class7aCreated(1), added(liamID)}, when: add(liam)},
		{name: "rejects a full class", given: []domain.Event{class7aCreated(2), added("s-1"), added("s-2")}, when: add(liam),
			thenErr: domain.ErrClassFull, thenKind: domain.KindConflict},
		{name: "rejects a student of another grade level", given: []domain.Event{class7aCreated(28)},
			when:    add(with(func(s *domain.StudentInfo) { s.GradeLevel = 8 })),
			thenErr: domain.ErrGradeLevelMismatch, thenKind: domain.KindConflict, thenField: "studentId"},
		{name: "rejects a withdrawn student", given: []domain.Event{class7aCreated(28)},
			when:    add(with(func(s *domain.StudentInfo) { s.Active = false })),
			thenErr: domain.ErrStudentWithdrawn, thenKind: domain.KindConflict, thenField: "studentId"},
		{name: "rejects a student of another school", given: []domain.Event{class7aCreated(28)},
			when:    add(with(func(s *domain.StudentInfo) { s.SchoolID = peopleSchoolB })),
			thenErr: domain.ErrStudentNotFound, thenKind: domain.KindNotFound, thenField: "studentId"},
		{name: "rejects a missing student ID", given: []domain.Event{class7aCreated(28)},
			when:     add(with(func(s *domain.StudentInfo) { s.ID = "" })),
			thenKind: domain.KindInvalid, thenField: "studentId"},
		{name: "rejects an unknown class", when: add(liam), thenErr: domain.ErrClassNotFound, thenKind: domain.KindNotFound},
	})
}

func TestClass_RemoveStudent(t *testing.T) {
	t.Parallel()
	created := class7aCreated(28)
	added := domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: liamID, At: peopleAt}
	remove := func(id, reason string) func(*domain.Class) error {
		return func(c *domain.Class) error { return c.RemoveStudent(id, reason, peopleLater) }
	}
	runScenarios(t, func() *domain.Class { return domain.NewClass(class7a) }, []scenario[*domain.Class]{
		{name: "removes a student", given: []domain.Event{created, added}, when: remove(liamID, "moved to 7B"),
			then: []domain.Event{domain.ClassStudentRemoved{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: liamID,
				Reason: "moved to 7B", At: peopleLater}}},
		{name: "a student not on the roster raises nothing", given: []domain.Event{created}, when: remove(liamID, "")},
		{name: "rejects a missing student ID", given: []domain.Event{created, added}, when: remove("", ""),
			thenKind: domain.KindInvalid, thenField: "studentId"},
		{name: "rejects an overlong reason", given: []domain.Event{created, added}, when: remove(liamID, strings.Repeat("r", 501)),
			thenKind: domain.KindInvalid, thenField: "reason"},
		{name: "rejects an unknown class", when: remove(liamID, ""), thenErr: domain.ErrClassNotFound, thenKind: domain.KindNotFound},
	})
}

func TestClass_State(t *testing.T) {
	t.Parallel()
	c := domain.NewClass(class7a)
	if c.Exists() {
		t.Fatal("a blank class exists")
	}
	if got, want := c.StreamID(), "class-"+class7a; got != want {
		t.Errorf("StreamID() = %q, want %q", got, want)
	}
	c = domain.Rehydrate(domain.NewClass(class7a), []domain.Event{
		class7aCreated(2),
		domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: "s-1", At: peopleAt},
		domain.ClassStudentAdded{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: "s-2", At: peopleAt},
		domain.ClassSubjectTeacherAssigned{ClassID: class7a, SchoolID: peopleSchoolA, Subject: "history", TeacherID: omarID, At: peopleAt},
	}, 4)
	if !c.Exists() || c.SchoolID() != peopleSchoolA || c.Name() != "7A" || c.GradeLevel() != 7 || c.Capacity() != 2 || !c.Full() {
		t.Fatalf("unexpected state: %+v", c)
	}
	if got := c.Roster(); !reflect.DeepEqual(got, []string{"s-1", "s-2"}) {
		t.Errorf("Roster() = %v", got)
	}
	if !c.HasStudent("s-2") || c.HasStudent(liamID) {
		t.Error("HasStudent is wrong")
	}
	if id, ok := c.SubjectTeacher("history"); !ok || id != omarID {
		t.Errorf("SubjectTeacher(history) = %q, %v", id, ok)
	}
	if _, ok := c.SubjectTeacher("art"); ok {
		t.Error("SubjectTeacher(art) found a teacher")
	}
	if !c.HasSubject("mathematics") || c.HasSubject("art") {
		t.Error("HasSubject is wrong")
	}
	want := domain.ClassInfo{SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "history"}}
	if got := c.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	c.Roster()[0] = "x"
	c.Subjects()[0].TeacherID = "x"
	if c.Roster()[0] != "s-1" || c.Subjects()[0].TeacherID != adaID {
		t.Error("accessors share the class's slices")
	}
	c = domain.Rehydrate(c, []domain.Event{
		domain.ClassStudentRemoved{ClassID: class7a, SchoolID: peopleSchoolA, StudentID: "s-1", At: peopleLater},
	}, 5)
	if c.Full() || !reflect.DeepEqual(c.Roster(), []string{"s-2"}) {
		t.Errorf("after removal: roster %v, full %v", c.Roster(), c.Full())
	}
}
