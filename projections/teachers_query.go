package projections

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Teacher is an entry of the teacher directory.
type Teacher struct {
	TeacherID            string     `json:"teacherId"`
	SchoolID             string     `json:"schoolId"`
	Name                 string     `json:"name"`
	Email                string     `json:"email"`
	Subjects             []string   `json:"subjects"`
	PreferredTimeSlots   []string   `json:"preferredTimeSlots"`
	MaxClassesPerDay     int        `json:"maxClassesPerDay"`
	Status               string     `json:"status"` // active | deactivated
	DeactivationReason   string     `json:"deactivationReason,omitempty"`
	CreatedAt            time.Time  `json:"createdAt"`
	PreferencesUpdatedAt *time.Time `json:"preferencesUpdatedAt,omitempty"`
	DeactivatedAt        *time.Time `json:"deactivatedAt,omitempty"`
	// Onboarding is the outcome of the teacher's onboarding; nil until it
	// is completed (teacher.onboarded.v1).
	Onboarding *TeacherOnboarding `json:"onboarding,omitempty"`
	Classes    []TaughtClass      `json:"classes"`
}

// TeacherOnboarding is how a teacher's onboarding ended: when, the
// timetable version that gave them their lessons (0 when none was
// published for them), how many lessons it assigned them and how many it
// could not fill, and the welcome message sent to them.
type TeacherOnboarding struct {
	CompletedAt      time.Time `json:"completedAt"`
	TimetableVersion int       `json:"timetableVersion"`
	LessonsAssigned  int       `json:"lessonsAssigned"`
	LessonsUnfilled  int       `json:"lessonsUnfilled"`
	WelcomeMessageID string    `json:"welcomeMessageId"`
}

// TaughtClass is a class subject a teacher teaches. ClassName is empty
// while the class itself is not known to the directory yet.
type TaughtClass struct {
	ClassID   string `json:"classId"`
	ClassName string `json:"className"`
	Subject   string `json:"subject"`
}

// TeacherFilter selects teachers. Sort is "name" (default) or "createdAt".
type TeacherFilter struct {
	Status  string // active | deactivated | "" for all
	Subject string // teaches this subject
	ClassID string // teaches a subject of this class
	Sort    string
	PageParams
}

var teacherSorts = map[string]sortKey{
	"name":      {"t.name", "text"},
	"createdAt": {"t.created_at", "timestamptz"},
}

const teacherColumns = `t.teacher_id, t.school_id, t.name, t.email, t.subjects, t.preferred_time_slots,
    t.max_classes_per_day, t.status, t.deactivation_reason, t.created_at, t.preferences_updated_at, t.deactivated_at,
    t.onboarded_at, t.onboarding_timetable, t.lessons_assigned, t.lessons_unfilled, t.welcome_message_id`

func scanTeacher(r pgx.Row) (Teacher, error) {
	var t Teacher
	var onboardedAt *time.Time
	var ob TeacherOnboarding
	err := r.Scan(&t.TeacherID, &t.SchoolID, &t.Name, &t.Email, &t.Subjects, &t.PreferredTimeSlots,
		&t.MaxClassesPerDay, &t.Status, &t.DeactivationReason, &t.CreatedAt, &t.PreferencesUpdatedAt, &t.DeactivatedAt,
		&onboardedAt, &ob.TimetableVersion, &ob.LessonsAssigned, &ob.LessonsUnfilled, &ob.WelcomeMessageID)
	if onboardedAt != nil {
		ob.CompletedAt = *onboardedAt
		t.Onboarding = &ob
	}
	return t, err
}

// GetTeacher returns one teacher with the classes they teach.
func GetTeacher(ctx context.Context, db Querier, schoolID, teacherID string) (Teacher, error) {
	if err := requireSchool(schoolID); err != nil {
		return Teacher{}, err
	}
	t, err := scanTeacher(db.QueryRow(ctx, `SELECT `+teacherColumns+` FROM rm_teachers.teachers t
WHERE t.school_id = $1 AND t.teacher_id = $2`, schoolID, teacherID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Teacher{}, notFound("teacher %s not found", teacherID)
	}
	if err != nil {
		return Teacher{}, err
	}
	ts := []Teacher{t}
	if err := addTaughtClasses(ctx, db, schoolID, ts); err != nil {
		return Teacher{}, err
	}
	return ts[0], nil
}

// ListTeachers lists the teacher directory.
func ListTeachers(ctx context.Context, db Querier, schoolID string, f TeacherFilter) (Page[Teacher], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Teacher]{}, err
	}
	if f.Sort == "" {
		f.Sort = "name" // one cursor form for the default order
	}
	sk, ok := teacherSorts[f.Sort]
	if !ok {
		return Page[Teacher]{}, domain.Invalid("sort", "%q is not a sort order (name, createdAt)", f.Sort)
	}
	p, err := keyset{list: "teachers", sort: f.Sort, cols: []sortKey{sk, {"t.teacher_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[Teacher]{}, err
	}
	var q sqlQuery
	q.where("t.school_id = " + q.arg(schoolID))
	switch f.Status {
	case "":
	case TeacherActive, TeacherDeactivated:
		q.where("t.status = " + q.arg(f.Status))
	default:
		return Page[Teacher]{}, domain.Invalid("status", "%q is not a teacher status (active, deactivated)", f.Status)
	}
	if f.Subject != "" {
		q.where(q.arg(strings.ToLower(strings.TrimSpace(f.Subject))) + " = ANY (t.subjects)")
	}
	if f.ClassID != "" {
		q.where(`EXISTS (SELECT 1 FROM rm_teachers.class_subject_teachers c
WHERE c.school_id = t.school_id AND c.teacher_id = t.teacher_id AND c.class_id = ` + q.arg(f.ClassID) + `)`)
	}
	page, err := queryPage(ctx, db, p, `SELECT `+teacherColumns+` FROM rm_teachers.teachers t`, &q,
		func(r pgx.Rows) (Teacher, error) { return scanTeacher(r) },
		func(t Teacher) []string {
			if f.Sort == "createdAt" {
				return []string{cursorTime(t.CreatedAt), t.TeacherID}
			}
			return []string{t.Name, t.TeacherID}
		})
	if err != nil {
		return Page[Teacher]{}, err
	}
	return page, addTaughtClasses(ctx, db, schoolID, page.Items)
}

// addTaughtClasses fills the Classes of teachers.
func addTaughtClasses(ctx context.Context, db Querier, schoolID string, ts []Teacher) error {
	if len(ts) == 0 {
		return nil
	}
	ids := make([]string, len(ts))
	at := make(map[string]int, len(ts))
	for i := range ts {
		ids[i] = ts[i].TeacherID
		at[ts[i].TeacherID] = i
		ts[i].Classes = []TaughtClass{}
	}
	rows, err := db.Query(ctx, `
SELECT s.teacher_id, s.class_id, coalesce(c.name, ''), s.subject
  FROM rm_teachers.class_subject_teachers s
  LEFT JOIN rm_teachers.classes c ON c.class_id = s.class_id AND c.school_id = s.school_id
 WHERE s.school_id = $1 AND s.teacher_id = ANY ($2)
 ORDER BY s.teacher_id, coalesce(c.name, ''), s.class_id, s.subject`, schoolID, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var teacher string
		var c TaughtClass
		if err := rows.Scan(&teacher, &c.ClassID, &c.ClassName, &c.Subject); err != nil {
			return err
		}
		i := at[teacher]
		ts[i].Classes = append(ts[i].Classes, c)
	}
	return rows.Err()
}
