package projections

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Exam is an exam cycle.
type Exam struct {
	ExamID       string     `json:"examId"`
	Name         string     `json:"name"`
	Term         string     `json:"term"`
	Subjects     []string   `json:"subjects"`
	ClassIDs     []string   `json:"classIds"`
	StartDate    string     `json:"startDate"`
	EndDate      string     `json:"endDate"`
	ScheduledAt  time.Time  `json:"scheduledAt"`
	Published    bool       `json:"published"`
	PublishedAt  *time.Time `json:"publishedAt,omitempty"`
	ResultCount  int        `json:"resultCount"` // recorded so far (as published, once published)
	StudentCount int        `json:"studentCount"`
	// Analysis is the statistics of the published results, once analysed
	// (exam.results_analyzed.v1); nil before.
	Analysis *ExamAnalysis `json:"analysis,omitempty"`
}

// ExamAnalysis is the statistics of an exam cycle's published results:
// per subject of the cycle (in the cycle's order) and per class of the
// cycle (in its order, the students by the classes' rosters when analysed).
// Grades are on the 0–100 scale; means and medians are rounded to 2
// decimals, pass rates (the share at or above PassMark, 0..1) to 4; a
// subject or class without results has zeros.
type ExamAnalysis struct {
	PassMark   float64            `json:"passMark"`
	Subjects   []ExamSubjectStats `json:"subjects"`
	Classes    []ExamClassStats   `json:"classes"`
	AnalyzedBy string             `json:"analyzedBy"`
	AnalyzedAt time.Time          `json:"analyzedAt"`
}

// ExamSubjectStats are one subject's figures: Students is the number of
// results (one per student).
type ExamSubjectStats struct {
	Subject  string  `json:"subject"`
	Students int     `json:"students"`
	Mean     float64 `json:"mean"`
	Median   float64 `json:"median"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	PassRate float64 `json:"passRate"`
}

// ExamClassStats are one class's figures over every result (all
// subjects) of its students.
type ExamClassStats struct {
	ClassID  string  `json:"classId"`
	Students int     `json:"students"`
	Results  int     `json:"results"`
	Mean     float64 `json:"mean"`
	PassRate float64 `json:"passRate"`
}

// ExamFilter selects exam cycles, latest start first.
type ExamFilter struct {
	Term      string
	ClassID   string // the class sits the cycle
	Published *bool
	PageParams
}

// ExamResult is one student's result in one subject of an exam cycle.
type ExamResult struct {
	ExamID      string    `json:"examId"`
	StudentID   string    `json:"studentId"`
	StudentName string    `json:"studentName"`
	Subject     string    `json:"subject"`
	Grade       float64   `json:"grade"`
	Published   bool      `json:"published"`
	RecordedAt  time.Time `json:"recordedAt"`
}

// ExamResultFilter selects results of an exam cycle (by student, then
// subject). PublishedOnly hides the results of unpublished cycles (for
// guardians and students).
type ExamResultFilter struct {
	StudentID     string
	Subject       string
	PublishedOnly bool
	PageParams
}

// ReportCardSelector picks the report card of one exam cycle or of a
// whole term (exactly one of the two).
type ReportCardSelector struct {
	ExamID string
	Term   string
}

// ReportCard is a student's published results across subjects.
//
// For one exam cycle each subject's Grade is the result; for a term it is
// the mean of the subject's results in the term's published cycles.
// Average is the mean of the subjects' grades (each subject counts once).
type ReportCard struct {
	StudentID   string              `json:"studentId"`
	StudentName string              `json:"studentName"`
	Term        string              `json:"term"`
	ExamID      string              `json:"examId,omitempty"`
	Exams       []ReportCardExam    `json:"exams"`
	Subjects    []ReportCardSubject `json:"subjects"`
	Average     float64             `json:"average"`
}

// ReportCardExam is an exam cycle a report card draws on.
type ReportCardExam struct {
	ExamID      string     `json:"examId"`
	Name        string     `json:"name"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
}

// ReportCardSubject is a subject line of a report card.
type ReportCardSubject struct {
	Subject string  `json:"subject"`
	Grade   float64 `json:"grade"`
	Results int     `json:"results"`
	Passed  bool    `json:"passed"` // grade at or above domain.PassMark
}

const examColumns = `exam_id, name, term, subjects, class_ids, start_date::text, end_date::text, scheduled_at, published,
    published_at, CASE WHEN published THEN result_count
         ELSE (SELECT count(*) FROM rm_exams.exam_results r WHERE r.school_id = x.school_id AND r.exam_id = x.exam_id) END,
    CASE WHEN published THEN student_count
         ELSE (SELECT count(DISTINCT student_id) FROM rm_exams.exam_results r WHERE r.school_id = x.school_id AND r.exam_id = x.exam_id) END,
    analysis`

func scanExam(r pgx.Row) (Exam, error) {
	var x Exam
	err := r.Scan(&x.ExamID, &x.Name, &x.Term, &x.Subjects, &x.ClassIDs, &x.StartDate, &x.EndDate, &x.ScheduledAt,
		&x.Published, &x.PublishedAt, &x.ResultCount, &x.StudentCount, &x.Analysis)
	return x, err
}

// GetExam returns one exam cycle.
func GetExam(ctx context.Context, db Querier, schoolID, examID string) (Exam, error) {
	if err := requireSchool(schoolID); err != nil {
		return Exam{}, err
	}
	x, err := scanExam(db.QueryRow(ctx, `SELECT `+examColumns+` FROM rm_exams.exams x WHERE school_id = $1 AND exam_id = $2`,
		schoolID, examID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Exam{}, notFound("exam cycle %s not found", examID)
	}
	return x, err
}

// ListExams lists exam cycles, latest start date first.
func ListExams(ctx context.Context, db Querier, schoolID string, f ExamFilter) (Page[Exam], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[Exam]{}, err
	}
	p, err := keyset{list: "exams", cols: []sortKey{{"start_date", "date"}, {"exam_id", "text"}}, desc: true}.page(f.PageParams)
	if err != nil {
		return Page[Exam]{}, err
	}
	var q sqlQuery
	q.where("school_id = " + q.arg(schoolID))
	if f.Term != "" {
		q.where("term = " + q.arg(strings.TrimSpace(f.Term)))
	}
	if f.ClassID != "" {
		q.where(q.arg(f.ClassID) + " = ANY (class_ids)")
	}
	if f.Published != nil {
		q.where("published = " + q.arg(*f.Published))
	}
	return queryPage(ctx, db, p, `SELECT `+examColumns+` FROM rm_exams.exams x`, &q,
		func(r pgx.Rows) (Exam, error) { return scanExam(r) },
		func(x Exam) []string { return []string{x.StartDate, x.ExamID} })
}

// ListExamResults lists the results of an exam cycle by student and
// subject. An exam cycle unknown in the school is not found.
func ListExamResults(ctx context.Context, db Querier, schoolID, examID string, f ExamResultFilter) (Page[ExamResult], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[ExamResult]{}, err
	}
	p, err := keyset{list: "exam-results", cols: []sortKey{{"r.student_id", "text"}, {"r.subject", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[ExamResult]{}, err
	}
	var published bool
	err = db.QueryRow(ctx, `SELECT published FROM rm_exams.exams WHERE school_id = $1 AND exam_id = $2`, schoolID, examID).Scan(&published)
	if errors.Is(err, pgx.ErrNoRows) {
		return Page[ExamResult]{}, notFound("exam cycle %s not found", examID)
	}
	if err != nil {
		return Page[ExamResult]{}, err
	}
	if f.PublishedOnly && !published {
		return Page[ExamResult]{Items: []ExamResult{}}, nil
	}
	var q sqlQuery
	q.where("r.school_id = " + q.arg(schoolID))
	q.where("r.exam_id = " + q.arg(examID))
	if f.StudentID != "" {
		q.where("r.student_id = " + q.arg(f.StudentID))
	}
	if f.Subject != "" {
		q.where("r.subject = " + q.arg(strings.ToLower(strings.TrimSpace(f.Subject))))
	}
	return queryPage(ctx, db, p, `SELECT r.exam_id, r.student_id, coalesce(s.name, ''), r.subject, r.grade::float8, r.recorded_at
  FROM rm_exams.exam_results r
  LEFT JOIN rm_exams.students s ON s.student_id = r.student_id AND s.school_id = r.school_id`, &q,
		func(r pgx.Rows) (ExamResult, error) {
			x := ExamResult{Published: published}
			err := r.Scan(&x.ExamID, &x.StudentID, &x.StudentName, &x.Subject, &x.Grade, &x.RecordedAt)
			return x, err
		},
		func(x ExamResult) []string { return []string{x.StudentID, x.Subject} })
}

// GetReportCard returns a student's report card for a published exam
// cycle or a term. Not found when there are no published results.
func GetReportCard(ctx context.Context, db Querier, schoolID, studentID string, sel ReportCardSelector) (ReportCard, error) {
	if err := requireSchool(schoolID); err != nil {
		return ReportCard{}, err
	}
	if (sel.ExamID == "") == (strings.TrimSpace(sel.Term) == "") {
		return ReportCard{}, domain.Invalid("examId", "give an exam cycle or a term, exactly one")
	}
	var q sqlQuery
	q.where("x.school_id = " + q.arg(schoolID))
	q.where("x.published")
	if sel.ExamID != "" {
		q.where("x.exam_id = " + q.arg(sel.ExamID))
	} else {
		q.where("x.term = " + q.arg(strings.TrimSpace(sel.Term)))
	}
	student := q.arg(studentID)
	q.where(`EXISTS (SELECT 1 FROM rm_exams.exam_results r WHERE r.school_id = x.school_id AND r.exam_id = x.exam_id
AND r.student_id = ` + student + `)`)
	rows, err := db.Query(ctx, `SELECT x.exam_id, x.name, x.term, x.published_at FROM rm_exams.exams x`+q.whereSQL()+
		` ORDER BY x.start_date, x.exam_id`, q.args...)
	if err != nil {
		return ReportCard{}, err
	}
	card := ReportCard{StudentID: studentID, ExamID: sel.ExamID, Term: strings.TrimSpace(sel.Term)}
	var examIDs []string
	card.Exams, err = collect(rows, func(r pgx.Rows) (ReportCardExam, error) {
		var x ReportCardExam
		err := r.Scan(&x.ExamID, &x.Name, &card.Term, &x.PublishedAt)
		examIDs = append(examIDs, x.ExamID)
		return x, err
	})
	if err != nil {
		return ReportCard{}, err
	}
	if len(card.Exams) == 0 {
		return ReportCard{}, notFound("no published results of student %s for this report card", studentID)
	}
	if err := db.QueryRow(ctx, `SELECT coalesce((SELECT name FROM rm_exams.students WHERE school_id = $1 AND student_id = $2), '')`,
		schoolID, studentID).Scan(&card.StudentName); err != nil {
		return ReportCard{}, err
	}
	rows, err = db.Query(ctx, `SELECT subject, round(avg(grade), 2)::float8, count(*) FROM rm_exams.exam_results
WHERE school_id = $1 AND student_id = $2 AND exam_id = ANY ($3) GROUP BY subject ORDER BY subject`, schoolID, studentID, examIDs)
	if err != nil {
		return ReportCard{}, err
	}
	card.Subjects, err = collect(rows, func(r pgx.Rows) (ReportCardSubject, error) {
		var s ReportCardSubject
		err := r.Scan(&s.Subject, &s.Grade, &s.Results)
		s.Passed = s.Grade >= float64(domain.PassMark)
		return s, err
	})
	if err != nil {
		return ReportCard{}, err
	}
	var sum float64
	for _, s := range card.Subjects {
		sum += s.Grade
	}
	if n := len(card.Subjects); n > 0 {
		card.Average = roundTo(sum/float64(n), 2)
	}
	return card, nil
}

// roundTo rounds x to n decimals.
func roundTo(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}
