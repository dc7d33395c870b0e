package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// DefaultDashboardWeeks is how many weeks of trends the dashboard shows
// by default.
const DefaultDashboardWeeks = 8

// Dashboard is a school's overview.
type Dashboard struct {
	SchoolID             string                `json:"schoolId"`
	Headcounts           Headcounts            `json:"headcounts"`
	SubjectAverages      []SubjectAverage      `json:"subjectAverages"`      // the whole school's
	ClassSubjectAverages []ClassSubjectAverage `json:"classSubjectAverages"` // per class (current students) and subject
	AttendanceTrend      []WeeklyAttendance    `json:"attendanceTrend"`      // the last weeks with registers, oldest first
	Interventions        InterventionCounts    `json:"interventions"`
}

// Headcounts counts the school's people and classes.
type Headcounts struct {
	Students            int `json:"students"` // enrolled
	WithdrawnStudents   int `json:"withdrawnStudents"`
	Teachers            int `json:"teachers"` // active
	DeactivatedTeachers int `json:"deactivatedTeachers"`
	Classes             int `json:"classes"`
}

// ClassSubjectAverage is the average grade in a subject of the students
// currently in a class.
type ClassSubjectAverage struct {
	ClassID   string `json:"classId"`
	ClassName string `json:"className"` // empty while the class is unknown
	SubjectAverage
}

// InterventionCounts counts interventions opened and closed: in total,
// by outcome, and per ISO week over the trend's weeks.
type InterventionCounts struct {
	Opened    int                `json:"opened"`
	Closed    int                `json:"closed"`
	Open      int                `json:"open"`
	ByOutcome map[string]int     `json:"byOutcome"`
	Weekly    []InterventionWeek `json:"weekly"`
}

// InterventionWeek counts the interventions opened and closed in a week
// (weeks with neither are absent).
type InterventionWeek struct {
	WeekStart string `json:"weekStart"` // the Monday, YYYY-MM-DD
	Opened    int    `json:"opened"`
	Closed    int    `json:"closed"`
}

// GetDashboard returns the school dashboard. weeks bounds the trends (0:
// DefaultDashboardWeeks, at most 104); the trends cover the latest weeks
// that have data, so the figures depend on the events only, not on the
// day they are read. It reads the dashboard, performance (the students
// and the grade averages) and attendance (the trend) read models.
func GetDashboard(ctx context.Context, db Querier, schoolID string, weeks int) (Dashboard, error) {
	if err := requireSchool(schoolID); err != nil {
		return Dashboard{}, err
	}
	switch {
	case weeks == 0:
		weeks = DefaultDashboardWeeks
	case weeks < 0 || weeks > 104:
		return Dashboard{}, domain.Invalid("weeks", "must be between 1 and 104, got %d", weeks)
	}
	d := Dashboard{SchoolID: schoolID}
	h := &d.Headcounts
	err := db.QueryRow(ctx, `SELECT
    (SELECT count(*) FROM rm_performance.students WHERE school_id = $1 AND status = 'enrolled'),
    (SELECT count(*) FROM rm_performance.students WHERE school_id = $1 AND status = 'withdrawn'),
    (SELECT count(*) FROM rm_dashboard.teachers WHERE school_id = $1 AND active),
    (SELECT count(*) FROM rm_dashboard.teachers WHERE school_id = $1 AND NOT active),
    (SELECT count(*) FROM rm_dashboard.classes WHERE school_id = $1)`, schoolID).
		Scan(&h.Students, &h.WithdrawnStudents, &h.Teachers, &h.DeactivatedTeachers, &h.Classes)
	if err != nil {
		return Dashboard{}, err
	}

	rows, err := db.Query(ctx, `SELECT subject, round(avg(grade), 2)::float8, count(*), count(DISTINCT student_id)
  FROM rm_performance.assessments WHERE school_id = $1 GROUP BY subject ORDER BY subject`, schoolID)
	if err != nil {
		return Dashboard{}, err
	}
	if d.SubjectAverages, err = collect(rows, func(r pgx.Rows) (SubjectAverage, error) {
		var s SubjectAverage
		err := r.Scan(&s.Subject, &s.Average, &s.Assessments, &s.Students)
		return s, err
	}); err != nil {
		return Dashboard{}, err
	}

	rows, err = db.Query(ctx, `SELECT s.class_id, coalesce(c.name, ''), g.subject, round(avg(g.grade), 2)::float8, count(*),
       count(DISTINCT g.student_id)
  FROM rm_performance.assessments g
  JOIN rm_performance.students s ON s.student_id = g.student_id AND s.school_id = g.school_id
  LEFT JOIN rm_dashboard.classes c ON c.class_id = s.class_id AND c.school_id = s.school_id
 WHERE g.school_id = $1 AND s.class_id IS NOT NULL
 GROUP BY s.class_id, c.name, g.subject ORDER BY coalesce(c.name, ''), s.class_id, g.subject`, schoolID)
	if err != nil {
		return Dashboard{}, err
	}
	if d.ClassSubjectAverages, err = collect(rows, func(r pgx.Rows) (ClassSubjectAverage, error) {
		var s ClassSubjectAverage
		err := r.Scan(&s.ClassID, &s.ClassName, &s.Subject, &s.Average, &s.Assessments, &s.Students)
		return s, err
	}); err != nil {
		return Dashboard{}, err
	}

	rows, err = db.Query(ctx, `SELECT * FROM (
    SELECT g.iso_year, g.iso_week, g.week_start::text AS ws, `+sumCountColumns+`
      FROM rm_attendance.registers g WHERE g.school_id = $1
     GROUP BY g.iso_year, g.iso_week, g.week_start ORDER BY g.week_start DESC LIMIT $2) w ORDER BY ws`, schoolID, weeks)
	if err != nil {
		return Dashboard{}, err
	}
	if d.AttendanceTrend, err = collect(rows, func(r pgx.Rows) (WeeklyAttendance, error) {
		var w WeeklyAttendance
		err := r.Scan(append([]any{&w.ISOYear, &w.ISOWeek, &w.WeekStart}, w.AttendanceCounts.dest()...)...)
		return w, err
	}); err != nil {
		return Dashboard{}, err
	}

	iv := &d.Interventions
	iv.ByOutcome = map[string]int{}
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'closed'), count(*) FILTER (WHERE status = 'open')
  FROM rm_dashboard.interventions WHERE school_id = $1`, schoolID).Scan(&iv.Opened, &iv.Closed, &iv.Open); err != nil {
		return Dashboard{}, err
	}
	rows, err = db.Query(ctx, `SELECT outcome, count(*) FROM rm_dashboard.interventions
WHERE school_id = $1 AND status = 'closed' GROUP BY outcome`, schoolID)
	if err != nil {
		return Dashboard{}, err
	}
	type outcome struct {
		name string
		n    int
	}
	outcomes, err := collect(rows, func(r pgx.Rows) (outcome, error) {
		var o outcome
		err := r.Scan(&o.name, &o.n)
		return o, err
	})
	if err != nil {
		return Dashboard{}, err
	}
	for _, o := range outcomes {
		iv.ByOutcome[o.name] = o.n
	}
	rows, err = db.Query(ctx, `WITH ev AS (
    SELECT date_trunc('week', opened_at AT TIME ZONE 'UTC')::date AS wk, 1 AS opened, 0 AS closed
      FROM rm_dashboard.interventions WHERE school_id = $1
    UNION ALL
    SELECT date_trunc('week', closed_at AT TIME ZONE 'UTC')::date, 0, 1
      FROM rm_dashboard.interventions WHERE school_id = $1 AND closed_at IS NOT NULL)
SELECT * FROM (SELECT wk::text, sum(opened)::int, sum(closed)::int FROM ev GROUP BY wk ORDER BY wk DESC LIMIT $2) w ORDER BY 1`,
		schoolID, weeks)
	if err != nil {
		return Dashboard{}, err
	}
	if iv.Weekly, err = collect(rows, func(r pgx.Rows) (InterventionWeek, error) {
		var w InterventionWeek
		err := r.Scan(&w.WeekStart, &w.Opened, &w.Closed)
		return w, err
	}); err != nil {
		return Dashboard{}, err
	}
	if d.SubjectAverages == nil {
		d.SubjectAverages = []SubjectAverage{}
	}
	if d.ClassSubjectAverages == nil {
		d.ClassSubjectAverages = []ClassSubjectAverage{}
	}
	if d.AttendanceTrend == nil {
		d.AttendanceTrend = []WeeklyAttendance{}
	}
	if iv.Weekly == nil {
		iv.Weekly = []InterventionWeek{}
	}
	return d, nil
}
