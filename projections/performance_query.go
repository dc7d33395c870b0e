package projections

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// TrendWindow is how many of a student's latest assessments in a subject
// (by assessedAt) the trend is computed over.
const TrendWindow = 5

// StudentPerformance is a student's standing per subject.
type StudentPerformance struct {
	StudentID string               `json:"studentId"`
	Name      string               `json:"name"`              // empty while the student is unknown
	ClassID   string               `json:"classId,omitempty"` // current class
	Subjects  []SubjectPerformance `json:"subjects"`
}

// SubjectPerformance is a student's record in one subject.
//
// Average is the mean of every grade in the subject. Trend is the
// least-squares slope of the grades of the last TrendWindow assessments
// (by assessedAt, ties in recording order) against their position, in
// grade points per assessment: +5 means each assessment was on average 5
// points better than the one before. It is absent with fewer than two
// assessments. TrendBasis is the number of assessments it is computed on.
type SubjectPerformance struct {
	Subject          string    `json:"subject"`
	Assessments      int       `json:"assessments"`
	Average          float64   `json:"average"`
	Trend            *float64  `json:"trend,omitempty"`
	TrendBasis       int       `json:"trendBasis"`
	Latest           float64   `json:"latest"`
	LatestAssessedAt time.Time `json:"latestAssessedAt"`
	BelowPassMark    bool      `json:"belowPassMark"` // average below domain.PassMark
}

// Assessment is one graded assessment in a student's history.
type Assessment struct {
	AssessmentID   string    `json:"assessmentId"`
	StudentID      string    `json:"studentId"`
	Subject        string    `json:"subject"`
	Grade          float64   `json:"grade"`
	AssessmentType string    `json:"assessmentType"`
	AssessedAt     time.Time `json:"assessedAt"`
	RecordedBy     string    `json:"recordedBy"`
	RecordedAt     time.Time `json:"recordedAt"`
}

// AssessmentFilter selects a student's assessments, newest first. From
// and To are dates (YYYY-MM-DD, inclusive) of assessedAt in UTC.
type AssessmentFilter struct {
	Subject        string
	AssessmentType string
	From, To       string
	PageParams
}

// SubjectAverage is the average grade in a subject of a class or school:
// the mean of every grade in the subject (of the students currently in
// the class, for a class).
type SubjectAverage struct {
	Subject     string  `json:"subject"`
	Average     float64 `json:"average"`
	Assessments int     `json:"assessments"`
	Students    int     `json:"students"`
}

// GetStudentPerformance returns a student's average and trend per subject.
// A student the read model knows nothing of is not found.
func GetStudentPerformance(ctx context.Context, db Querier, schoolID, studentID string) (StudentPerformance, error) {
	if err := requireSchool(schoolID); err != nil {
		return StudentPerformance{}, err
	}
	sp := StudentPerformance{StudentID: studentID}
	var known bool
	err := db.QueryRow(ctx, `
SELECT coalesce(s.name, ''), coalesce(s.class_id, ''),
       s.student_id IS NOT NULL OR EXISTS (SELECT 1 FROM rm_performance.assessments a WHERE a.school_id = $1 AND a.student_id = $2)
  FROM (SELECT 1) one
  LEFT JOIN rm_performance.students s ON s.school_id = $1 AND s.student_id = $2`,
		schoolID, studentID).Scan(&sp.Name, &sp.ClassID, &known)
	if err != nil {
		return StudentPerformance{}, err
	}
	if !known {
		return StudentPerformance{}, notFound("student %s not found", studentID)
	}
	rows, err := db.Query(ctx, `
WITH ranked AS (
    SELECT subject, grade, assessed_at,
           row_number() OVER (PARTITION BY subject ORDER BY assessed_at DESC, seq DESC) AS rn
      FROM rm_performance.assessments
     WHERE school_id = $1 AND student_id = $2)
SELECT subject, count(*), round(avg(grade), 2)::float8,
       round(regr_slope(grade::float8, -rn::float8) FILTER (WHERE rn <= $3)::numeric, 2)::float8,
       count(*) FILTER (WHERE rn <= $3),
       max(grade) FILTER (WHERE rn = 1)::float8, max(assessed_at) FILTER (WHERE rn = 1)
  FROM ranked GROUP BY subject ORDER BY subject`, schoolID, studentID, TrendWindow)
	if err != nil {
		return StudentPerformance{}, err
	}
	subjects, err := collect(rows, func(r pgx.Rows) (SubjectPerformance, error) {
		var s SubjectPerformance
		err := r.Scan(&s.Subject, &s.Assessments, &s.Average, &s.Trend, &s.TrendBasis, &s.Latest, &s.LatestAssessedAt)
		s.BelowPassMark = s.Average < float64(domain.PassMark)
		return s, err
	})
	if err != nil {
		return StudentPerformance{}, err
	}
	sp.Subjects = subjects
	if sp.Subjects == nil {
		sp.Subjects = []SubjectPerformance{}
	}
	return sp, nil
}

// ListStudentAssessments pages through a student's assessments, newest
// first.
func ListStudentAssessments(ctx context.Context, db Querier, schoolID, studentID string, f AssessmentFilter) (Page[Assessment], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Assessment]{}, err
	}
	p, err := keyset{list: "assessments", cols: []sortKey{{"assessed_at", "timestamptz"}, {"seq", "bigint"}}, desc: true}.page(f.PageParams)
	if err != nil {
		return Page[Assessment]{}, err
	}
	from, err := dateParam("from", f.From)
	if err != nil {
		return Page[Assessment]{}, err
	}
	to, err := dateParam("to", f.To)
	if err != nil {
		return Page[Assessment]{}, err
	}
	var q sqlQuery
	q.where("school_id = " + q.arg(schoolID))
	q.where("student_id = " + q.arg(studentID))
	if f.Subject != "" {
		q.where("subject = " + q.arg(strings.ToLower(strings.TrimSpace(f.Subject))))
	}
	if f.AssessmentType != "" {
		t, err := domain.AssessmentTypeFromString("assessmentType", f.AssessmentType)
		if err != nil {
			return Page[Assessment]{}, err
		}
		q.where("assessment_type = " + q.arg(string(t)))
	}
	if from != nil {
		q.where("assessed_at >= " + q.arg(*from))
	}
	if to != nil {
		q.where("assessed_at < " + q.arg(to.AddDate(0, 0, 1)))
	}
	type row struct {
		a   Assessment
		seq int64
	}
	res, err := queryPage(ctx, db, p, `SELECT assessment_id, student_id, subject, grade::float8, assessment_type, assessed_at,
    recorded_by, recorded_at, seq FROM rm_performance.assessments`, &q,
		func(r pgx.Rows) (row, error) {
			var x row
			err := r.Scan(&x.a.AssessmentID, &x.a.StudentID, &x.a.Subject, &x.a.Grade, &x.a.AssessmentType,
				&x.a.AssessedAt, &x.a.RecordedBy, &x.a.RecordedAt, &x.seq)
			return x, err
		},
		func(x row) []string { return []string{cursorTime(x.a.AssessedAt), strconv.FormatInt(x.seq, 10)} })
	if err != nil {
		return Page[Assessment]{}, err
	}
	out := Page[Assessment]{Items: make([]Assessment, len(res.Items)), NextCursor: res.NextCursor}
	for i, x := range res.Items {
		out.Items[i] = x.a
	}
	return out, nil
}

// SubjectAverages returns the average grade per subject of a class's
// current students, or of the whole school when classID is empty.
func SubjectAverages(ctx context.Context, db Querier, schoolID, classID string) ([]SubjectAverage, error) {
	if err := requireSchool(schoolID); err != nil {
		return nil, err
	}
	var q sqlQuery
	q.where("a.school_id = " + q.arg(schoolID))
	from := " FROM rm_performance.assessments a"
	if classID != "" {
		from += " JOIN rm_performance.students s ON s.student_id = a.student_id AND s.school_id = a.school_id"
		q.where("s.class_id = " + q.arg(classID))
	}
	rows, err := db.Query(ctx, `SELECT a.subject, round(avg(a.grade), 2)::float8, count(*), count(DISTINCT a.student_id)`+
		from+q.whereSQL()+` GROUP BY a.subject ORDER BY a.subject`, q.args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(r pgx.Rows) (SubjectAverage, error) {
		var s SubjectAverage
		err := r.Scan(&s.Subject, &s.Average, &s.Assessments, &s.Students)
		return s, err
	})
	if out == nil && err == nil {
		out = []SubjectAverage{}
	}
	return out, err
}
