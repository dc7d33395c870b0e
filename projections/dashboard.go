package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// dashboardProjection feeds the school dashboard: headcounts of students,
// teachers and classes, grades (for averages per subject and class),
// attendance lines (for the weekly rate trend) and interventions opened and
// closed. It keeps its own slim copy of each fact, one table per kind of
// stream, and the figures are aggregated when queried: a grade counts for
// the class its student is in now, whichever of the two arrived first.
type dashboardProjection struct{}

const dashboardName = "dashboard"

func (dashboardProjection) Name() string { return dashboardName }

func (dashboardProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelTeacher, domain.ChannelStudent, domain.ChannelAttendance,
		domain.ChannelPerformance, domain.ChannelAIServices}
}

func (dashboardProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS teachers (
    teacher_id text PRIMARY KEY,
    school_id  text NOT NULL,
    active     boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS teachers_school_idx ON teachers (school_id);

CREATE TABLE IF NOT EXISTS students (
    student_id text PRIMARY KEY,
    school_id  text NOT NULL,
    name       text NOT NULL,
    class_id   text,
    status     text NOT NULL
);
CREATE INDEX IF NOT EXISTS students_class_idx ON students (school_id, class_id);

CREATE TABLE IF NOT EXISTS classes (
    class_id  text PRIMARY KEY,
    school_id text NOT NULL,
    name      text NOT NULL
);
CREATE INDEX IF NOT EXISTS classes_school_idx ON classes (school_id);

CREATE TABLE IF NOT EXISTS grades (
    student_id    text NOT NULL,
    assessment_id text NOT NULL,
    school_id     text NOT NULL,
    subject       text NOT NULL,
    grade         numeric NOT NULL,
    PRIMARY KEY (student_id, assessment_id)
);
CREATE INDEX IF NOT EXISTS grades_school_idx ON grades (school_id, subject);

CREATE TABLE IF NOT EXISTS attendance_lines (
    register_id text NOT NULL,
    student_id  text NOT NULL,
    school_id   text NOT NULL,
    week_start  date NOT NULL,
    status      text NOT NULL,
    PRIMARY KEY (register_id, student_id)
);
CREATE INDEX IF NOT EXISTS attendance_lines_week_idx ON attendance_lines (school_id, week_start);

CREATE TABLE IF NOT EXISTS interventions (
    intervention_id text PRIMARY KEY,
    school_id       text NOT NULL,
    status          text NOT NULL,
    outcome         text NOT NULL DEFAULT '',
    opened_at       timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE INDEX IF NOT EXISTS interventions_school_idx ON interventions (school_id);
`
}

func (dashboardProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.TeacherCreatedType:
		ev, err := decodeAs[domain.TeacherCreated](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO teachers (teacher_id, school_id, active) VALUES ($1, $2, true)
ON CONFLICT (teacher_id) DO UPDATE SET school_id = excluded.school_id, active = true`, ev.TeacherID, tenantOf(e, ev.SchoolID))
		return err
	case domain.TeacherDeactivatedType:
		ev, err := decodeAs[domain.TeacherDeactivated](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teachers SET active = false WHERE teacher_id = $1`, ev.TeacherID)
		return err
	case domain.ClassCreatedType:
		ev, err := decodeAs[domain.ClassCreated](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO classes (class_id, school_id, name) VALUES ($1, $2, $3)
ON CONFLICT (class_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name`,
			ev.ClassID, tenantOf(e, ev.SchoolID), ev.Name)
		return err
	case domain.PerformanceRecordedType:
		ev, err := decodeAs[domain.PerformanceRecorded](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO grades (student_id, assessment_id, school_id, subject, grade) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (student_id, assessment_id) DO UPDATE SET school_id = excluded.school_id, subject = excluded.subject, grade = excluded.grade`,
			ev.StudentID, ev.AssessmentID, tenantOf(e, ev.SchoolID), string(ev.Subject), float64(ev.Grade))
		return err
	case domain.AttendanceRecordedType, domain.AttendanceAmendedType:
		var school, register string
		var date domain.Date
		var entries []domain.AttendanceEntry
		if e.Type == domain.AttendanceRecordedType {
			ev, err := decodeAs[domain.AttendanceRecorded](e)
			if err != nil {
				return err
			}
			school, register, date, entries = tenantOf(e, ev.SchoolID), ev.RegisterID, ev.Date, ev.Entries
		} else {
			ev, err := decodeAs[domain.AttendanceAmended](e)
			if err != nil {
				return err
			}
			school, register, date, entries = tenantOf(e, ev.SchoolID), ev.RegisterID, ev.Date, ev.Entries
		}
		students, statuses, _ := lineArrays(entries)
		_, _, monday := isoWeek(date.Time())
		_, err := tx.Exec(ctx, `
INSERT INTO attendance_lines (register_id, student_id, school_id, week_start, status)
SELECT $1, s, $2, $3, st FROM unnest($4::text[], $5::text[]) AS u(s, st)
ON CONFLICT (register_id, student_id) DO UPDATE SET status = excluded.status, school_id = excluded.school_id,
    week_start = excluded.week_start`, register, school, monday, students, statuses)
		return err
	case domain.InterventionOpenedType:
		ev, err := decodeAs[domain.InterventionOpened](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO interventions (intervention_id, school_id, status, opened_at) VALUES ($1, $2, 'open', $3)
ON CONFLICT (intervention_id) DO UPDATE SET school_id = excluded.school_id, status = 'open', opened_at = excluded.opened_at`,
			ev.InterventionID, tenantOf(e, ev.SchoolID), ev.At)
		return err
	case domain.InterventionClosedType:
		ev, err := decodeAs[domain.InterventionClosed](e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE interventions SET status = 'closed', outcome = $2, closed_at = $3 WHERE intervention_id = $1`,
			ev.InterventionID, string(ev.Outcome), ev.At)
		return err
	}
	return applyStudentCopy(ctx, tx, e)
}
