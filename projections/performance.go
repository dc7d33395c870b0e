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

func (performanceProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type == domain.PerformanceRecordedType {
		ev, err := decodeAs[domain.PerformanceRecorded](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO assessments (student_id, assessment_id, school_id, subject, grade, assessment_type, assessed_at, recorded_by, recorded_at, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (student_id, assessment_id) DO UPDATE SET school_id = excluded.school_id, subject = excluded.subject,
    grade = excluded.grade, assessment_type = excluded.assessment_type, assessed_at = excluded.assessed_at,
    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at, seq = excluded.seq`,
			ev.StudentID, ev.AssessmentID, tenantOf(e, ev.SchoolID), string(ev.Subject), float64(ev.Grade),
			string(ev.AssessmentType), ev.AssessedAt, ev.RecordedBy, ev.At, int64(e.Version))
		return err
	}
	return applyStudentCopy(ctx, tx, e)
}

// applyStudentCopy keeps the small copy of the students (name, class,
// status) several read models join with, in a table named students
// (student_id, school_id, name, class_id, status).
func applyStudentCopy(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.StudentEnrolledType:
		ev, err := decodeAs[domain.StudentEnrolled](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO students (student_id, school_id, name, status) VALUES ($1, $2, $3, 'enrolled')
ON CONFLICT (student_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name, status = 'enrolled'`,
			ev.StudentID, tenantOf(e, ev.SchoolID), ev.Name)
		return err
	case domain.StudentAssignedToClassType:
		ev, err := decodeAs[domain.StudentAssignedToClass](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET class_id = $2 WHERE student_id = $1`, ev.StudentID, ev.ClassID)
		return err
	case domain.StudentWithdrawnType:
		ev, err := decodeAs[domain.StudentWithdrawn](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET status = 'withdrawn', class_id = NULL WHERE student_id = $1`, ev.StudentID)
		return err
	}
	return nil
}
