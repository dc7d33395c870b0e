package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// studentsProjection holds the students (profile, guardians, class,
// status; streams student-<id>) and the classes with their subjects,
// subject teachers and rosters (streams class-<id>). A student's class
// comes from the student's stream, a roster from the class's: the two
// agree once both streams are applied.
type studentsProjection struct{}

const studentsName = "students"

// Student statuses.
const (
	StudentEnrolled  = "enrolled"
	StudentWithdrawn = "withdrawn"
)

func (studentsProjection) Name() string { return studentsName }

func (studentsProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelStudent}
}

func (studentsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS students (
    student_id        text PRIMARY KEY,
    school_id         text NOT NULL,
    name              text NOT NULL,
    date_of_birth     date NOT NULL,
    grade_level       int NOT NULL,
    class_id          text,
    status            text NOT NULL,
    withdrawal_reason text NOT NULL DEFAULT '',
    enrolled_at       timestamptz NOT NULL,
    class_assigned_at timestamptz,
    withdrawn_at      timestamptz
);
CREATE INDEX IF NOT EXISTS students_name_idx ON students (school_id, name, student_id);
CREATE INDEX IF NOT EXISTS students_enrolled_idx ON students (school_id, enrolled_at, student_id);
CREATE INDEX IF NOT EXISTS students_class_idx ON students (school_id, class_id);

CREATE TABLE IF NOT EXISTS student_guardians (
    student_id   text NOT NULL,
    guardian_id  text NOT NULL,
    school_id    text NOT NULL,
    name         text NOT NULL,
    email        text NOT NULL,
    relationship text NOT NULL,
    ord          int NOT NULL,
    PRIMARY KEY (student_id, guardian_id)
);
CREATE INDEX IF NOT EXISTS student_guardians_guardian_idx ON student_guardians (school_id, guardian_id);

-- Written by class streams only.
CREATE TABLE IF NOT EXISTS classes (
    class_id    text PRIMARY KEY,
    school_id   text NOT NULL,
    name        text NOT NULL,
    grade_level int NOT NULL,
    capacity    int NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS classes_name_idx ON classes (school_id, name, class_id);
CREATE TABLE IF NOT EXISTS class_subjects (
    class_id   text NOT NULL,
    subject    text NOT NULL,
    school_id  text NOT NULL,
    teacher_id text NOT NULL DEFAULT '',
    ord        int NOT NULL,
    PRIMARY KEY (class_id, subject)
);
CREATE INDEX IF NOT EXISTS class_subjects_teacher_idx ON class_subjects (school_id, teacher_id);
CREATE TABLE IF NOT EXISTS class_roster (
    class_id   text NOT NULL,
    student_id text NOT NULL,
    school_id  text NOT NULL,
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (class_id, student_id)
);
CREATE INDEX IF NOT EXISTS class_roster_student_idx ON class_roster (school_id, student_id);
`
}

func (studentsProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.StudentEnrolledType:
		ev, err := decodeAs[domain.StudentEnrolled](ctx, e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		if _, err := tx.Exec(ctx, `
INSERT INTO students (student_id, school_id, name, date_of_birth, grade_level, status, enrolled_at)
VALUES ($1, $2, $3, $4, $5, 'enrolled', $6)
ON CONFLICT (student_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name,
    date_of_birth = excluded.date_of_birth, grade_level = excluded.grade_level, status = 'enrolled',
    enrolled_at = excluded.enrolled_at`,
			ev.StudentID, school, ev.Name, ev.DateOfBirth.Time(), int(ev.GradeLevel), ev.At); err != nil {
			return err
		}
		ids := make([]string, len(ev.Guardians))
		names := make([]string, len(ev.Guardians))
		emails := make([]string, len(ev.Guardians))
		rels := make([]string, len(ev.Guardians))
		for i, g := range ev.Guardians {
			ids[i], names[i], emails[i], rels[i] = g.GuardianID, g.Name, g.Email.String(), string(g.Relationship)
		}
		_, err = tx.Exec(ctx, `
INSERT INTO student_guardians (student_id, guardian_id, school_id, name, email, relationship, ord)
SELECT $1, g, $2, n, m, r, o FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(g, n, m, r, o)
ON CONFLICT (student_id, guardian_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name,
    email = excluded.email, relationship = excluded.relationship, ord = excluded.ord`,
			ev.StudentID, school, ids, names, emails, rels)
		return err
	case domain.StudentAssignedToClassType:
		ev, err := decodeAs[domain.StudentAssignedToClass](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET class_id = $2, class_assigned_at = $3 WHERE student_id = $1`,
			ev.StudentID, ev.ClassID, ev.At)
		return err
	case domain.StudentWithdrawnType:
		ev, err := decodeAs[domain.StudentWithdrawn](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE students SET status = 'withdrawn', class_id = NULL, withdrawal_reason = $2, withdrawn_at = $3
WHERE student_id = $1`, ev.StudentID, ev.Reason, ev.At)
		return err
	case domain.ClassCreatedType:
		ev, err := decodeAs[domain.ClassCreated](ctx, e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		if _, err := tx.Exec(ctx, `
INSERT INTO classes (class_id, school_id, name, grade_level, capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (class_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name,
    grade_level = excluded.grade_level, capacity = excluded.capacity, created_at = excluded.created_at`,
			ev.ClassID, school, ev.Name, int(ev.GradeLevel), ev.Capacity, ev.At); err != nil {
			return err
		}
		subjects := make([]string, len(ev.Subjects))
		teachers := make([]string, len(ev.Subjects))
		for i, s := range ev.Subjects {
			subjects[i], teachers[i] = string(s.Subject), s.TeacherID
		}
		_, err = tx.Exec(ctx, `
INSERT INTO class_subjects (class_id, subject, school_id, teacher_id, ord)
SELECT $1, s, $2, t, o FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(s, t, o)
ON CONFLICT (class_id, subject) DO UPDATE SET school_id = excluded.school_id, teacher_id = excluded.teacher_id, ord = excluded.ord`,
			ev.ClassID, school, subjects, teachers)
		return err
	case domain.ClassSubjectTeacherAssignedType:
		ev, err := decodeAs[domain.ClassSubjectTeacherAssigned](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE class_subjects SET teacher_id = $3 WHERE class_id = $1 AND subject = $2`,
			ev.ClassID, string(ev.Subject), ev.TeacherID)
		return err
	case domain.ClassStudentAddedType:
		ev, err := decodeAs[domain.ClassStudentAdded](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO class_roster (class_id, student_id, school_id, added_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (class_id, student_id) DO UPDATE SET added_at = excluded.added_at, school_id = excluded.school_id`,
			ev.ClassID, ev.StudentID, tenantOf(e, ev.SchoolID), ev.At)
		return err
	case domain.ClassStudentRemovedType:
		ev, err := decodeAs[domain.ClassStudentRemoved](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM class_roster WHERE class_id = $1 AND student_id = $2`, ev.ClassID, ev.StudentID)
		return err
	}
	return nil
}
