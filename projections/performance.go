package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// performanceProjection keeps every graded assessment (streams
// performance-<studentId>) and, from the student streams, each student's
// name and current class. Averages and trends are computed when queried,
// so they never depend on which of a student's and a record's events came
// first.
type performanceProjection struct{}

const performanceName = "performance"

func (performanceProjection) Name() string { return performanceName }

func (performanceProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelPerformance, domain.ChannelStudent}
}

// StreamCategories: the students' records, and the students themselves
// for the copy of them; not exam cycles or classes.
func (performanceProjection) StreamCategories() []string { return []string{"performance", "student"} }

func (performanceProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS assessments (
    student_id      text NOT NULL,
    assessment_id   text NOT NULL,
    school_id       text NOT NULL,
    subject         text NOT NULL,
    grade           numeric NOT NULL,
    assessment_type text NOT NULL,
    assessed_at     timestamptz NOT NULL,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    seq             bigint NOT NULL, -- the event's version in the student's record: ties of assessed_at
    PRIMARY KEY (student_id, assessment_id)
);
CREATE INDEX IF NOT EXISTS assessments_student_idx ON assessments (school_id, student_id, assessed_at, seq);
CREATE INDEX IF NOT EXISTS assessments_subject_idx ON assessments (school_id, subject);

-- Written by student streams only.
CREATE TABLE IF NOT EXISTS students (
    student_id text PRIMARY KEY,
    school_id  text NOT NULL,
    name       text NOT NULL,
    class_id   text,
    status     text NOT NULL
);
CREATE INDEX IF NOT EXISTS students_class_idx ON students (school_id, class_id);
`
}

// assessmentRows writes assessments, one row per event.
var assessmentRows = newUpsertTable("assessments", 2,
	column{"student_id", "text"}, column{"assessment_id", "text"}, column{"school_id", "text"}, column{"subject", "text"},
	column{"grade", "numeric"}, column{"assessment_type", "text"}, column{"assessed_at", "timestamptz"},
	column{"recorded_by", "text"}, column{"recorded_at", "timestamptz"}, column{"seq", "bigint"})

func (performanceProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type == domain.PerformanceRecordedType {
		ev, err := decodeAs[domain.PerformanceRecorded](ctx, e)
		if err != nil {
			return err
		}
		return assessmentRows.put(ctx, tx, ev.StudentID, ev.AssessmentID, tenantOf(e, ev.SchoolID), string(ev.Subject),
			float64(ev.Grade), string(ev.AssessmentType), ev.AssessedAt, ev.RecordedBy, ev.At, int64(e.Version))
	}
	return applyStudentCopy(ctx, tx, e)
}

// applyStudentCopy keeps the small copy of the students (name, class,
// status) several read models join with, in a table named students
// (student_id, school_id, name, class_id, status).
func applyStudentCopy(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.StudentEnrolledType:
		ev, err := decodeAs[domain.StudentEnrolled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO students (student_id, school_id, name, status) VALUES ($1, $2, $3, 'enrolled')
ON CONFLICT (student_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name, status = 'enrolled'`,
			ev.StudentID, tenantOf(e, ev.SchoolID), ev.Name)
		return err
	case domain.StudentAssignedToClassType:
		ev, err := decodeAs[domain.StudentAssignedToClass](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET class_id = $2 WHERE student_id = $1`, ev.StudentID, ev.ClassID)
		return err
	case domain.StudentWithdrawnType:
		ev, err := decodeAs[domain.StudentWithdrawn](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET status = 'withdrawn', class_id = NULL WHERE student_id = $1`, ev.StudentID)
		return err
	}
	return nil
}
