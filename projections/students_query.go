package projections

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Student is a student's profile, guardians, class and status.
type Student struct {
	StudentID        string            `json:"studentId"`
	SchoolID         string            `json:"schoolId"`
	Name             string            `json:"name"`
	DateOfBirth      string            `json:"dateOfBirth"` // YYYY-MM-DD
	GradeLevel       int               `json:"gradeLevel"`
	ClassID          string            `json:"classId,omitempty"`   // empty: in no class
	ClassName        string            `json:"className,omitempty"` // empty while the class is unknown
	Status           string            `json:"status"`              // enrolled | withdrawn
	WithdrawalReason string            `json:"withdrawalReason,omitempty"`
	EnrolledAt       time.Time         `json:"enrolledAt"`
	WithdrawnAt      *time.Time        `json:"withdrawnAt,omitempty"`
	Guardians        []StudentGuardian `json:"guardians"`
}

// StudentGuardian is a guardian of a student.
type StudentGuardian struct {
	GuardianID   string `json:"guardianId"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Relationship string `json:"relationship"`
}

// StudentFilter selects students. Sort is "name" (default) or "enrolledAt".
type StudentFilter struct {
	ClassID    string
	Status     string // enrolled | withdrawn | "" for all
	GradeLevel *int
	GuardianID string // students this guardian may act for
	Sort       string
	PageParams
}

// Class is a class with its subjects (and their teachers) and roster size.
type Class struct {
	ClassID    string         `json:"classId"`
	SchoolID   string         `json:"schoolId"`
	Name       string         `json:"name"`
	GradeLevel int            `json:"gradeLevel"`
	Capacity   int            `json:"capacity"`
	Students   int            `json:"students"` // on the roster
	Subjects   []ClassSubject `json:"subjects"`
	CreatedAt  time.Time      `json:"createdAt"`
}

// ClassSubject is a subject of a class; TeacherID is empty until assigned.
type ClassSubject struct {
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId,omitempty"`
}

// ClassFilter selects classes (sorted by name).
type ClassFilter struct {
	GradeLevel *int
	TeacherID  string // a subject of the class is taught by this teacher
	PageParams
}

// RosterEntry is a student on a class roster. Name and Status are empty
// while the student is not known to the read model yet.
type RosterEntry struct {
	StudentID  string    `json:"studentId"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	GradeLevel int       `json:"gradeLevel"`
	AddedAt    time.Time `json:"addedAt"`
}

var studentSorts = map[string]sortKey{
	"name":       {"s.name", "text"},
	"enrolledAt": {"s.enrolled_at", "timestamptz"},
}

const studentColumns = `s.student_id, s.school_id, s.name, s.date_of_birth::text, s.grade_level, coalesce(s.class_id, ''),
    coalesce(c.name, ''), s.status, s.withdrawal_reason, s.enrolled_at, s.withdrawn_at`

const studentFrom = ` FROM rm_students.students s
  LEFT JOIN rm_students.classes c ON c.class_id = s.class_id AND c.school_id = s.school_id`

func scanStudent(r pgx.Row) (Student, error) {
	var s Student
	err := r.Scan(&s.StudentID, &s.SchoolID, &s.Name, &s.DateOfBirth, &s.GradeLevel, &s.ClassID, &s.ClassName,
		&s.Status, &s.WithdrawalReason, &s.EnrolledAt, &s.WithdrawnAt)
	return s, err
}

// GetStudent returns one student with their guardians.
func GetStudent(ctx context.Context, db Querier, schoolID, studentID string) (Student, error) {
	if err := requireSchool(schoolID); err != nil {
		return Student{}, err
	}
	s, err := scanStudent(db.QueryRow(ctx, `SELECT `+studentColumns+studentFrom+
		` WHERE s.school_id = $1 AND s.student_id = $2`, schoolID, studentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Student{}, notFound("student %s not found", studentID)
	}
	if err != nil {
		return Student{}, err
	}
	ss := []Student{s}
	if err := addGuardians(ctx, db, schoolID, ss); err != nil {
		return Student{}, err
	}
	return ss[0], nil
}

// ListStudents lists students with their guardians.
func ListStudents(ctx context.Context, db Querier, schoolID string, f StudentFilter) (Page[Student], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Student]{}, err
	}
	if f.Sort == "" {
		f.Sort = "name" // one cursor form for the default order
	}
	sk, ok := studentSorts[f.Sort]
	if !ok {
		return Page[Student]{}, domain.Invalid("sort", "%q is not a sort order (name, enrolledAt)", f.Sort)
	}
	p, err := keyset{list: "students", sort: f.Sort, cols: []sortKey{sk, {"s.student_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[Student]{}, err
	}
	var q sqlQuery
	q.where("s.school_id = " + q.arg(schoolID))
	switch f.Status {
	case "":
	case StudentEnrolled, StudentWithdrawn:
		q.where("s.status = " + q.arg(f.Status))
	default:
		return Page[Student]{}, domain.Invalid("status", "%q is not a student status (enrolled, withdrawn)", f.Status)
	}
	if f.ClassID != "" {
		q.where("s.class_id = " + q.arg(f.ClassID))
	}
	if f.GradeLevel != nil {
		q.where("s.grade_level = " + q.arg(*f.GradeLevel))
	}
	if f.GuardianID != "" {
		q.where(`EXISTS (SELECT 1 FROM rm_students.student_guardians g
WHERE g.school_id = s.school_id AND g.student_id = s.student_id AND g.guardian_id = ` + q.arg(f.GuardianID) + `)`)
	}
	page, err := queryPage(ctx, db, p, `SELECT `+studentColumns+studentFrom, &q,
		func(r pgx.Rows) (Student, error) { return scanStudent(r) },
		func(s Student) []string {
			if f.Sort == "enrolledAt" {
				return []string{cursorTime(s.EnrolledAt), s.StudentID}
			}
			return []string{s.Name, s.StudentID}
		})
	if err != nil {
		return Page[Student]{}, err
	}
	return page, addGuardians(ctx, db, schoolID, page.Items)
}

func addGuardians(ctx context.Context, db Querier, schoolID string, ss []Student) error {
	if len(ss) == 0 {
		return nil
	}
	ids := make([]string, len(ss))
	at := make(map[string]int, len(ss))
	for i := range ss {
		ids[i] = ss[i].StudentID
		at[ss[i].StudentID] = i
		ss[i].Guardians = []StudentGuardian{}
	}
	rows, err := db.Query(ctx, `SELECT student_id, guardian_id, name, email, relationship FROM rm_students.student_guardians
WHERE school_id = $1 AND student_id = ANY ($2) ORDER BY student_id, ord`, schoolID, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var student string
		var g StudentGuardian
		if err := rows.Scan(&student, &g.GuardianID, &g.Name, &g.Email, &g.Relationship); err != nil {
			return err
		}
		ss[at[student]].Guardians = append(ss[at[student]].Guardians, g)
	}
	return rows.Err()
}

const classColumns = `c.class_id, c.school_id, c.name, c.grade_level, c.capacity, c.created_at,
    (SELECT count(*) FROM rm_students.class_roster r WHERE r.school_id = c.school_id AND r.class_id = c.class_id)`

func scanClass(r pgx.Row) (Class, error) {
	var c Class
	err := r.Scan(&c.ClassID, &c.SchoolID, &c.Name, &c.GradeLevel, &c.Capacity, &c.CreatedAt, &c.Students)
	return c, err
}

// GetClass returns one class with its subjects and roster size.
func GetClass(ctx context.Context, db Querier, schoolID, classID string) (Class, error) {
	if err := requireSchool(schoolID); err != nil {
		return Class{}, err
	}
	c, err := scanClass(db.QueryRow(ctx, `SELECT `+classColumns+` FROM rm_students.classes c
WHERE c.school_id = $1 AND c.class_id = $2`, schoolID, classID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Class{}, notFound("class %s not found", classID)
	}
	if err != nil {
		return Class{}, err
	}
	cs := []Class{c}
	if err := addClassSubjects(ctx, db, schoolID, cs); err != nil {
		return Class{}, err
	}
	return cs[0], nil
}

// ListClasses lists classes by name.
func ListClasses(ctx context.Context, db Querier, schoolID string, f ClassFilter) (Page[Class], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Class]{}, err
	}
	p, err := keyset{list: "classes", cols: []sortKey{{"c.name", "text"}, {"c.class_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[Class]{}, err
	}
	var q sqlQuery
	q.where("c.school_id = " + q.arg(schoolID))
	if f.GradeLevel != nil {
		q.where("c.grade_level = " + q.arg(*f.GradeLevel))
	}
	if f.TeacherID != "" {
		q.where(`EXISTS (SELECT 1 FROM rm_students.class_subjects cs
WHERE cs.school_id = c.school_id AND cs.class_id = c.class_id AND cs.teacher_id = ` + q.arg(f.TeacherID) + `)`)
	}
	page, err := queryPage(ctx, db, p, `SELECT `+classColumns+` FROM rm_students.classes c`, &q,
		func(r pgx.Rows) (Class, error) { return scanClass(r) },
		func(c Class) []string { return []string{c.Name, c.ClassID} })
	if err != nil {
		return Page[Class]{}, err
	}
	return page, addClassSubjects(ctx, db, schoolID, page.Items)
}

func addClassSubjects(ctx context.Context, db Querier, schoolID string, cs []Class) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	at := make(map[string]int, len(cs))
	for i := range cs {
		ids[i] = cs[i].ClassID
		at[cs[i].ClassID] = i
		cs[i].Subjects = []ClassSubject{}
	}
	rows, err := db.Query(ctx, `SELECT class_id, subject, teacher_id FROM rm_students.class_subjects
WHERE school_id = $1 AND class_id = ANY ($2) ORDER BY class_id, ord`, schoolID, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var class string
		var s ClassSubject
		if err := rows.Scan(&class, &s.Subject, &s.TeacherID); err != nil {
			return err
		}
		cs[at[class]].Subjects = append(cs[at[class]].Subjects, s)
	}
	return rows.Err()
}

// ClassRoster lists the students on a class's roster by name. A class
// unknown in the school is not found.
func ClassRoster(ctx context.Context, db Querier, schoolID, classID string, page PageParams) (Page[RosterEntry], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[RosterEntry]{}, err
	}
	p, err := keyset{list: "roster", cols: []sortKey{{"coalesce(s.name, '')", "text"}, {"r.student_id", "text"}}}.page(page)
	if err != nil {
		return Page[RosterEntry]{}, err
	}
	var exists bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_students.classes WHERE school_id = $1 AND class_id = $2)`,
		schoolID, classID).Scan(&exists); err != nil {
		return Page[RosterEntry]{}, err
	}
	if !exists {
		return Page[RosterEntry]{}, notFound("class %s not found", classID)
	}
	var q sqlQuery
	q.where("r.school_id = " + q.arg(schoolID))
	q.where("r.class_id = " + q.arg(classID))
	return queryPage(ctx, db, p, `SELECT r.student_id, coalesce(s.name, ''), coalesce(s.status, ''), coalesce(s.grade_level, 0), r.added_at
  FROM rm_students.class_roster r
  LEFT JOIN rm_students.students s ON s.student_id = r.student_id AND s.school_id = r.school_id`, &q,
		func(r pgx.Rows) (RosterEntry, error) {
			var e RosterEntry
			err := r.Scan(&e.StudentID, &e.Name, &e.Status, &e.GradeLevel, &e.AddedAt)
			return e, err
		},
		func(e RosterEntry) []string { return []string{e.Name, e.StudentID} })
}

// Lookups for the HTTP layer's authorization (teachers see their classes
// and students, guardians their children).

// TeacherTeachesClass reports whether the teacher teaches a subject of the
// class.
func TeacherTeachesClass(ctx context.Context, db Querier, schoolID, teacherID, classID string) (bool, error) {
	if err := requireSchool(schoolID); err != nil {
		return false, err
	}
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_students.class_subjects
WHERE school_id = $1 AND class_id = $2 AND teacher_id = $3)`, schoolID, classID, teacherID).Scan(&ok)
	return ok, err
}

// TeacherTeachesStudent reports whether the teacher teaches a subject of
// the student's current class.
func TeacherTeachesStudent(ctx context.Context, db Querier, schoolID, teacherID, studentID string) (bool, error) {
	if err := requireSchool(schoolID); err != nil {
		return false, err
	}
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_students.students s
  JOIN rm_students.class_subjects cs ON cs.school_id = s.school_id AND cs.class_id = s.class_id
 WHERE s.school_id = $1 AND s.student_id = $2 AND cs.teacher_id = $3)`, schoolID, studentID, teacherID).Scan(&ok)
	return ok, err
}

// TeacherClassIDs lists the classes the teacher teaches a subject of.
func TeacherClassIDs(ctx context.Context, db Querier, schoolID, teacherID string) ([]string, error) {
	if err := requireSchool(schoolID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT class_id FROM rm_students.class_subjects
WHERE school_id = $1 AND teacher_id = $2 ORDER BY class_id`, schoolID, teacherID)
	if err != nil {
		return nil, err
	}
	ids, err := collect(rows, func(r pgx.Rows) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if ids == nil && err == nil {
		ids = []string{}
	}
	return ids, err
}

// GuardianStudentIDs lists the students the guardian may act for.
func GuardianStudentIDs(ctx context.Context, db Querier, schoolID, guardianID string) ([]string, error) {
	if err := requireSchool(schoolID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT student_id FROM rm_students.student_guardians
WHERE school_id = $1 AND guardian_id = $2 ORDER BY student_id`, schoolID, guardianID)
	if err != nil {
		return nil, err
	}
	ids, err := collect(rows, func(r pgx.Rows) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if ids == nil && err == nil {
		ids = []string{}
	}
	return ids, err
}
