package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Class is a group of students of one grade level, with a capacity, a
// roster, and the subjects it is taught with the teacher of each.
//
// All class events go to ChannelStudent (the roster channel): a stream's
// events stay on one topic so consumers see them in order.
type Class struct {
	Root
	schoolID   string
	name       string
	gradeLevel GradeLevel
	capacity   int
	subjects   []ClassSubject
	roster     []string
	created    bool
}

// Sentinels of the class aggregate, matched with errors.Is.
var (
	ErrClassExists        = errors.New("class already exists")
	ErrClassNotFound      = errors.New("class not found")
	ErrClassFull          = errors.New("class is full")
	ErrGradeLevelMismatch = errors.New("student is of another grade level")
	ErrSubjectNotInClass  = errors.New("class is not taught the subject")
	ErrUnknownClass       = errors.New("unknown class")
)

// MaxClassCapacity bounds a class's capacity.
const MaxClassCapacity = 60

// ClassSubject is a subject a class is taught and its teacher (TeacherID is
// empty until one is assigned).
type ClassSubject struct {
	Subject   Subject `json:"subject"`
	TeacherID string  `json:"teacherId"`
}

// ClassSubjectInput is the unvalidated form of ClassSubject.
type ClassSubjectInput struct {
	Subject   string
	TeacherID string // optional
}

// ClassInfo is what a Timetable needs to know of a class; the command layer
// reads it from the loaded Class (Info).
type ClassInfo struct {
	SchoolID string
	Subjects []Subject
}

// Has reports whether the class is taught subject.
func (ci ClassInfo) Has(subject Subject) bool { return slices.Contains(ci.Subjects, subject) }

// ClassCreated: a class was opened in a school.
type ClassCreated struct {
	ClassID    string         `json:"classId"`
	SchoolID   string         `json:"schoolId"`
	Name       string         `json:"name"`
	GradeLevel GradeLevel     `json:"gradeLevel"`
	Capacity   int            `json:"capacity"`
	Subjects   []ClassSubject `json:"subjects"`
	At         time.Time      `json:"at"`
}

// ClassSubjectTeacherAssigned: a subject of the class got a (new) teacher.
type ClassSubjectTeacherAssigned struct {
	ClassID           string    `json:"classId"`
	SchoolID          string    `json:"schoolId"`
	Subject           Subject   `json:"subject"`
	TeacherID         string    `json:"teacherId"`
	PreviousTeacherID string    `json:"previousTeacherId"`
	At                time.Time `json:"at"`
}

// ClassStudentAdded: a student joined the class roster.
type ClassStudentAdded struct {
	ClassID   string    `json:"classId"`
	SchoolID  string    `json:"schoolId"`
	StudentID string    `json:"studentId"`
	At        time.Time `json:"at"`
}

// ClassStudentRemoved: a student left the class roster.
type ClassStudentRemoved struct {
	ClassID   string    `json:"classId"`
	SchoolID  string    `json:"schoolId"`
	StudentID string    `json:"studentId"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

var (
	ClassCreatedType                = register[ClassCreated](ChannelStudent)
	ClassSubjectTeacherAssignedType = register[ClassSubjectTeacherAssigned](ChannelStudent)
	ClassStudentAddedType           = register[ClassStudentAdded](ChannelStudent)
	ClassStudentRemovedType         = register[ClassStudentRemoved](ChannelStudent)
)

func (ClassCreated) EventType() string                { return "class.created.v1" }
func (ClassSubjectTeacherAssigned) EventType() string { return "class.subject_teacher_assigned.v1" }
func (ClassStudentAdded) EventType() string           { return "class.student_added.v1" }
func (ClassStudentRemoved) EventType() string         { return "class.student_removed.v1" }

// NewClass returns the blank class with the given ID, for loading its
// stream. It validates nothing: Create does, when the class is created.
func NewClass(id string) *Class { return &Class{Root: Root{id: id}} }

// StreamID is "class-<id>".
func (c *Class) StreamID() string { return "class-" + c.id }

// Create opens the class. Each subject may name its teacher; teachers
// holds what is known of every teacher named (the command layer loads
// them): each must be of the same school, active and teach the subject.
func (c *Class) Create(schoolID, name string, gradeLevel, capacity int, subjects []ClassSubjectInput,
	teachers map[string]TeacherInfo, at time.Time) error {
	if err := RequireID("id", c.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", schoolID); err != nil {
		return err
	}
	name, err := RequireText("name", name, maxNameLen)
	if err != nil {
		return err
	}
	grade, err := ParseGradeLevel("gradeLevel", gradeLevel)
	if err != nil {
		return err
	}
	if capacity < 1 || capacity > MaxClassCapacity {
		return Invalid("capacity", "must be between 1 and %d, got %d", MaxClassCapacity, capacity)
	}
	if len(subjects) == 0 {
		return Invalid("subjects", "needs at least one subject")
	}
	subs := make([]ClassSubject, 0, len(subjects))
	for i, in := range subjects {
		f := fmt.Sprintf("subjects[%d]", i)
		sub, err := ParseSubject(f+".subject", in.Subject)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(subs, func(cs ClassSubject) bool { return cs.Subject == sub }) {
			return Invalid(f+".subject", "subject %q is listed twice", sub)
		}
		if in.TeacherID != "" {
			if err := checkSubjectTeacher(f+".teacherId", schoolID, sub, in.TeacherID, teachers); err != nil {
				return err
			}
		}
		subs = append(subs, ClassSubject{Subject: sub, TeacherID: in.TeacherID})
	}
	if c.created {
		return ruleError(KindConflict, "", ErrClassExists, "class %s already exists", c.id)
	}
	raise(c, ClassCreated{ClassID: c.id, SchoolID: schoolID, Name: name, GradeLevel: grade,
		Capacity: capacity, Subjects: subs, At: at.UTC()})
	return nil
}

// checkSubjectTeacher checks that teacherID is a known teacher of
// schoolID, active and teaching subject; field names the teacher input. A
// teacher of another school is reported as unknown, not to leak it.
func checkSubjectTeacher(field, schoolID string, subject Subject, teacherID string, teachers map[string]TeacherInfo) error {
	t, ok := teachers[teacherID]
	switch {
	case !ok || t.SchoolID != schoolID:
		return ruleError(KindInvalid, field, ErrUnknownTeacher, "teacher %s is not a teacher of this school", teacherID)
	case !t.Active:
		return ruleError(KindConflict, field, ErrTeacherInactive, "teacher %s is deactivated", teacherID)
	case !t.Teaches(subject):
		return ruleError(KindInvalid, field, ErrSubjectNotTaught, "teacher %s does not teach %s", teacherID, subject)
	}
	return nil
}

// AssignSubjectTeacher makes teacherID the teacher of one of the class's
// subjects; teacher is what is known of them. Assigning the current
// teacher again raises nothing.
func (c *Class) AssignSubjectTeacher(subject, teacherID string, teacher TeacherInfo, at time.Time) error {
	sub, err := ParseSubject("subject", subject)
	if err != nil {
		return err
	}
	if err := RequireID("teacherId", teacherID); err != nil {
		return err
	}
	if err := c.requireCreated(); err != nil {
		return err
	}
	i := slices.IndexFunc(c.subjects, func(cs ClassSubject) bool { return cs.Subject == sub })
	if i < 0 {
		return ruleError(KindInvalid, "subject", ErrSubjectNotInClass, "class %s is not taught %s", c.id, sub)
	}
	if err := checkSubjectTeacher("teacherId", c.schoolID, sub, teacherID, map[string]TeacherInfo{teacherID: teacher}); err != nil {
		return err
	}
	if c.subjects[i].TeacherID == teacherID {
		return nil
	}
	raise(c, ClassSubjectTeacherAssigned{ClassID: c.id, SchoolID: c.schoolID, Subject: sub, TeacherID: teacherID,
		PreviousTeacherID: c.subjects[i].TeacherID, At: at.UTC()})
	return nil
}

// AddStudent puts a student on the roster. A student already on it raises
// nothing (so a retried assignment is harmless), even when the class is
// full. Otherwise the student must be of the class's school (else it is
// not found), active and of the class's grade level, and the class not
// full.
func (c *Class) AddStudent(student StudentInfo, at time.Time) error {
	if err := RequireID("studentId", student.ID); err != nil {
		return err
	}
	if err := c.requireCreated(); err != nil {
		return err
	}
	switch {
	case c.HasStudent(student.ID):
		return nil
	case student.SchoolID != c.schoolID:
		return ruleError(KindNotFound, "studentId", ErrStudentNotFound, "student %s not found in this school", student.ID)
	case !student.Active:
		return ruleError(KindConflict, "studentId", ErrStudentWithdrawn, "student %s is not enrolled", student.ID)
	case student.GradeLevel != c.gradeLevel:
		return ruleError(KindConflict, "studentId", ErrGradeLevelMismatch,
			"student %s is in grade %d, class %s is grade %d", student.ID, student.GradeLevel, c.id, c.gradeLevel)
	case len(c.roster) >= c.capacity:
		return ruleError(KindConflict, "", ErrClassFull, "class %s is full (capacity %d)", c.id, c.capacity)
	}
	raise(c, ClassStudentAdded{ClassID: c.id, SchoolID: c.schoolID, StudentID: student.ID, At: at.UTC()})
	return nil
}

// RemoveStudent takes a student off the roster; reason is optional free
// text. A student not on the roster raises nothing, so the moves of
// AssignStudentToClass and WithdrawStudent can be retried safely.
func (c *Class) RemoveStudent(studentID, reason string, at time.Time) error {
	if err := RequireID("studentId", studentID); err != nil {
		return err
	}
	reason, err := optionalText("reason", reason, maxReasonLen)
	if err != nil {
		return err
	}
	if err := c.requireCreated(); err != nil {
		return err
	}
	if !c.HasStudent(studentID) {
		return nil
	}
	raise(c, ClassStudentRemoved{ClassID: c.id, SchoolID: c.schoolID, StudentID: studentID, Reason: reason, At: at.UTC()})
	return nil
}

func (c *Class) requireCreated() error {
	if !c.created {
		return ruleError(KindNotFound, "", ErrClassNotFound, "class %s not found", c.id)
	}
	return nil
}

func (c *Class) apply(e Event) {
	switch e := e.(type) {
	case ClassCreated:
		c.created = true
		c.schoolID, c.name, c.gradeLevel, c.capacity = e.SchoolID, e.Name, e.GradeLevel, e.Capacity
		c.subjects = slices.Clone(e.Subjects)
	case ClassSubjectTeacherAssigned:
		for i := range c.subjects {
			if c.subjects[i].Subject == e.Subject {
				c.subjects[i].TeacherID = e.TeacherID
			}
		}
	case ClassStudentAdded:
		if !c.HasStudent(e.StudentID) {
			c.roster = append(c.roster, e.StudentID)
		}
	case ClassStudentRemoved:
		c.roster = slices.DeleteFunc(c.roster, func(id string) bool { return id == e.StudentID })
	}
}

// RequireInSchool returns a not-found error (ErrClassNotFound) unless the
// class exists in schoolID. The command layer calls it before acting on a
// class named by a request, so another school's class is never touched nor
// revealed.
func (c *Class) RequireInSchool(schoolID string) error {
	if !c.created || c.schoolID != schoolID {
		return ruleError(KindNotFound, "", ErrClassNotFound, "class %s not found", c.id)
	}
	return nil
}

// Exists reports whether the class has been created.
func (c *Class) Exists() bool           { return c.created }
func (c *Class) SchoolID() string       { return c.schoolID }
func (c *Class) Name() string           { return c.name }
func (c *Class) GradeLevel() GradeLevel { return c.gradeLevel }
func (c *Class) Capacity() int          { return c.capacity }

// Roster lists the students of the class in the order they joined.
func (c *Class) Roster() []string { return slices.Clone(c.roster) }

// HasStudent reports whether studentID is on the roster.
func (c *Class) HasStudent(studentID string) bool { return slices.Contains(c.roster, studentID) }

// Full reports whether the roster has reached the capacity.
func (c *Class) Full() bool { return len(c.roster) >= c.capacity }

// Subjects returns a copy of the class's subjects and their teachers.
func (c *Class) Subjects() []ClassSubject { return slices.Clone(c.subjects) }

// HasSubject reports whether the class is taught subject.
func (c *Class) HasSubject(subject Subject) bool {
	return slices.ContainsFunc(c.subjects, func(cs ClassSubject) bool { return cs.Subject == subject })
}

// SubjectTeacher returns the teacher of subject, if the class has the
// subject and it has a teacher.
func (c *Class) SubjectTeacher(subject Subject) (string, bool) {
	for _, cs := range c.subjects {
		if cs.Subject == subject {
			return cs.TeacherID, cs.TeacherID != ""
		}
	}
	return "", false
}

// Info is the class as a Timetable sees it.
func (c *Class) Info() ClassInfo {
	subs := make([]Subject, len(c.subjects))
	for i, cs := range c.subjects {
		subs[i] = cs.Subject
	}
	return ClassInfo{SchoolID: c.schoolID, Subjects: subs}
}
