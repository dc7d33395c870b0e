package projections

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// examsProjection keeps the exam cycles (streams exam-<id>): their
// subjects, classes and dates, each student's result per subject (later
// results replacing earlier ones), whether the results are published and,
// once analysed (exam.results_analyzed.v1), the statistics of the
// published results per subject and per class, as the event computed them.
// Report cards are read from the published results. Students' names come
// from the student streams.
type examsProjection struct{}

const examsName = "exams"

func (examsProjection) Name() string { return examsName }

// SchemaVersion: 1 added the analysis of the results; a rebuild also
// applies the exam.results_analyzed.v1 events consumed before they were
// handled.
func (examsProjection) SchemaVersion() int { return 1 }

func (examsProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelPerformance, domain.ChannelStudent}
}

// StreamCategories: the exam cycles, and the students for the copy of
// them; not the students' performance records, most of the channel.
func (examsProjection) StreamCategories() []string { return []string{"exam", "student"} }

func (examsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS exams (
    exam_id       text PRIMARY KEY,
    school_id     text NOT NULL,
    name          text NOT NULL,
    term          text NOT NULL,
    subjects      text[] NOT NULL,
    class_ids     text[] NOT NULL,
    start_date    date NOT NULL,
    end_date      date NOT NULL,
    scheduled_by  text NOT NULL,
    scheduled_at  timestamptz NOT NULL,
    published     boolean NOT NULL DEFAULT false,
    published_by  text NOT NULL DEFAULT '',
    published_at  timestamptz,
    result_count  int NOT NULL DEFAULT 0,
    student_count int NOT NULL DEFAULT 0,
    analysis      jsonb -- ExamAnalysis; null until the results are analysed
);
CREATE INDEX IF NOT EXISTS exams_start_idx ON exams (school_id, start_date, exam_id);
CREATE INDEX IF NOT EXISTS exams_term_idx ON exams (school_id, term);

CREATE TABLE IF NOT EXISTS exam_results (
    exam_id     text NOT NULL,
    student_id  text NOT NULL,
    subject     text NOT NULL,
    school_id   text NOT NULL,
    grade       numeric NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (exam_id, student_id, subject)
);
CREATE INDEX IF NOT EXISTS exam_results_student_idx ON exam_results (school_id, student_id);

-- Written by student streams only.
CREATE TABLE IF NOT EXISTS students (
    student_id text PRIMARY KEY,
    school_id  text NOT NULL,
    name       text NOT NULL,
    class_id   text,
    status     text NOT NULL
);
`
}

func (examsProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.ExamScheduledType:
		ev, err := decodeAs[domain.ExamScheduled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO exams (exam_id, school_id, name, term, subjects, class_ids, start_date, end_date, scheduled_by, scheduled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (exam_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name, term = excluded.term,
    subjects = excluded.subjects, class_ids = excluded.class_ids, start_date = excluded.start_date,
    end_date = excluded.end_date, scheduled_by = excluded.scheduled_by, scheduled_at = excluded.scheduled_at`,
			ev.ExamID, tenantOf(e, ev.SchoolID), ev.Name, ev.Term, strs(ev.Subjects), nonNil(ev.ClassIDs),
			ev.StartDate.Time(), ev.EndDate.Time(), ev.ScheduledBy, ev.At)
		return err
	case domain.ExamResultsRecordedType:
		ev, err := decodeAs[domain.ExamResultsRecorded](ctx, e)
		if err != nil {
			return err
		}
		n := len(ev.Results)
		students, subjects, grades := make([]string, n), make([]string, n), make([]float64, n)
		for i, r := range ev.Results {
			students[i], subjects[i], grades[i] = r.StudentID, string(r.Subject), float64(r.Grade)
		}
		_, err = tx.Exec(ctx, `
INSERT INTO exam_results (exam_id, student_id, subject, school_id, grade, recorded_by, recorded_at)
SELECT $1, s, j, $2, g, $3, $4 FROM unnest($5::text[], $6::text[], $7::numeric[]) AS u(s, j, g)
ON CONFLICT (exam_id, student_id, subject) DO UPDATE SET grade = excluded.grade, school_id = excluded.school_id,
    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at`,
			ev.ExamID, tenantOf(e, ev.SchoolID), ev.RecordedBy, ev.At, students, subjects, grades)
		return err
	case domain.ExamResultsPublishedType:
		ev, err := decodeAs[domain.ExamResultsPublished](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE exams SET published = true, published_by = $2, published_at = $3,
    result_count = $4, student_count = $5 WHERE exam_id = $1`,
			ev.ExamID, ev.PublishedBy, ev.At, ev.ResultCount, ev.StudentCount)
		return err
	case domain.ExamResultsAnalyzedType:
		ev, err := decodeAs[domain.ExamResultsAnalyzed](ctx, e)
		if err != nil {
			return err
		}
		a := ExamAnalysis{PassMark: float64(ev.PassMark), Subjects: make([]ExamSubjectStats, len(ev.Subjects)),
			Classes: make([]ExamClassStats, len(ev.Classes)), AnalyzedBy: ev.AnalyzedBy, AnalyzedAt: ev.At.UTC()}
		for i, x := range ev.Subjects {
			a.Subjects[i] = ExamSubjectStats{Subject: string(x.Subject), Students: x.Students, Mean: x.Mean, Median: x.Median,
				Min: x.Min, Max: x.Max, PassRate: x.PassRate}
		}
		for i, x := range ev.Classes {
			a.Classes[i] = ExamClassStats{ClassID: x.ClassID, Students: x.Students, Results: x.Results, Mean: x.Mean,
				PassRate: x.PassRate}
		}
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE exams SET analysis = $2 WHERE exam_id = $1`, ev.ExamID, string(body))
		return err
	}
	return applyStudentCopy(ctx, tx, e)
}

// nonNil makes a nil slice empty, for NOT NULL array columns.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
