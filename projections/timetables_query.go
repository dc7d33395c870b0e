package projections

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Timetable is one version of a school's week, or the part of it of one
// class or teacher.
type Timetable struct {
	SchoolID      string    `json:"schoolId"`
	Version       int       `json:"version"`
	Current       bool      `json:"current"` // the version in effect
	ChangeKind    string    `json:"changeKind"`
	Reason        string    `json:"reason,omitempty"`
	PublishedAt   time.Time `json:"publishedAt"`
	Lessons       []Lesson  `json:"lessons"` // in week order (Monday first, then period)
	LatestVersion int       `json:"latestVersion"`
}

// Lesson is one lesson of the week.
type Lesson struct {
	ClassID   string `json:"classId"`
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId"`
	Day       string `json:"day"`
	Period    int    `json:"period"`
}

// TimetableVersion is one published version in the history. Lessons is
// the number of lessons of the class or teacher asked about (of the whole
// school when neither).
type TimetableVersion struct {
	Version     int       `json:"version"`
	ChangeKind  string    `json:"changeKind"`
	Reason      string    `json:"reason,omitempty"`
	PublishedAt time.Time `json:"publishedAt"`
	Lessons     int       `json:"lessons"`
}

// TimetableSelector narrows a timetable to a class or a teacher (at most
// one) and picks a version (0: the current one).
type TimetableSelector struct {
	ClassID   string
	TeacherID string
	Version   int
}

// GetTimetable returns a version of the school's timetable, whole or for
// one class or teacher. Not found before the first publication or for a
// version that does not exist.
func GetTimetable(ctx context.Context, db Querier, schoolID string, sel TimetableSelector) (Timetable, error) {
	if err := requireSchool(schoolID); err != nil {
		return Timetable{}, err
	}
	if sel.ClassID != "" && sel.TeacherID != "" {
		return Timetable{}, domain.Invalid("teacherId", "give a class or a teacher, not both")
	}
	if sel.Version < 0 {
		return Timetable{}, domain.Invalid("version", "must be positive, got %d", sel.Version)
	}
	var tt Timetable
	err := db.QueryRow(ctx, `
WITH latest AS (SELECT max(version) AS v FROM rm_timetables.timetable_versions WHERE school_id = $1)
SELECT v.school_id, v.version, v.change_kind, v.reason, v.published_at, l.v
  FROM rm_timetables.timetable_versions v, latest l
 WHERE v.school_id = $1 AND v.version = CASE WHEN $2::int = 0 THEN l.v ELSE $2::int END`,
		schoolID, sel.Version).Scan(&tt.SchoolID, &tt.Version, &tt.ChangeKind, &tt.Reason, &tt.PublishedAt, &tt.LatestVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		if sel.Version == 0 {
			return Timetable{}, notFound("school %s has no published timetable", schoolID)
		}
		return Timetable{}, notFound("timetable version %d not found", sel.Version)
	}
	if err != nil {
		return Timetable{}, err
	}
	tt.Current = tt.Version == tt.LatestVersion
	var q sqlQuery
	q.where("school_id = " + q.arg(schoolID))
	q.where("version = " + q.arg(tt.Version))
	if sel.ClassID != "" {
		q.where("class_id = " + q.arg(sel.ClassID))
	}
	if sel.TeacherID != "" {
		q.where("teacher_id = " + q.arg(sel.TeacherID))
	}
	rows, err := db.Query(ctx, `SELECT class_id, subject, teacher_id, day, period FROM rm_timetables.timetable_lessons`+
		q.whereSQL()+` ORDER BY day_rank, period, class_id`, q.args...)
	if err != nil {
		return Timetable{}, err
	}
	lessons, err := collect(rows, func(r pgx.Rows) (Lesson, error) {
		var l Lesson
		err := r.Scan(&l.ClassID, &l.Subject, &l.TeacherID, &l.Day, &l.Period)
		return l, err
	})
	if err != nil {
		return Timetable{}, err
	}
	tt.Lessons = lessons
	if tt.Lessons == nil {
		tt.Lessons = []Lesson{}
	}
	return tt, nil
}

// TimetableHistory lists the published versions, newest first; Version in
// the selector is ignored. With a class or teacher, each version counts
// that class's or teacher's lessons.
func TimetableHistory(ctx context.Context, db Querier, schoolID string, sel TimetableSelector, page PageParams) (Page[TimetableVersion], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[TimetableVersion]{}, err
	}
	if sel.ClassID != "" && sel.TeacherID != "" {
		return Page[TimetableVersion]{}, domain.Invalid("teacherId", "give a class or a teacher, not both")
	}
	p, err := keyset{list: "timetable-versions", cols: []sortKey{{"v.version", "int"}}, desc: true}.page(page)
	if err != nil {
		return Page[TimetableVersion]{}, err
	}
	var q sqlQuery
	q.where("v.school_id = " + q.arg(schoolID))
	count := "v.lessons"
	switch {
	case sel.ClassID != "":
		count = `(SELECT count(*) FROM rm_timetables.timetable_lessons l
WHERE l.school_id = v.school_id AND l.version = v.version AND l.class_id = ` + q.arg(sel.ClassID) + `)`
	case sel.TeacherID != "":
		count = `(SELECT count(*) FROM rm_timetables.timetable_lessons l
WHERE l.school_id = v.school_id AND l.version = v.version AND l.teacher_id = ` + q.arg(sel.TeacherID) + `)`
	}
	return queryPage(ctx, db, p, `SELECT v.version, v.change_kind, v.reason, v.published_at, `+count+`
  FROM rm_timetables.timetable_versions v`, &q,
		func(r pgx.Rows) (TimetableVersion, error) {
			var v TimetableVersion
			err := r.Scan(&v.Version, &v.ChangeKind, &v.Reason, &v.PublishedAt, &v.Lessons)
			return v, err
		},
		func(v TimetableVersion) []string { return []string{strconv.Itoa(v.Version)} })
}
