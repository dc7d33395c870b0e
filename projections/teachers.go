package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// teachersProjection is the teacher directory: each teacher's subjects,
// preferences, status and onboarding (streams teacher-<id>; the
// teacher_onboarding workflow's teacher.onboarded.v1), and the classes they
// teach (the subject teachers of the classes, streams class-<id>).
type teachersProjection struct{}

const teachersName = "teachers"

// Teacher statuses in the directory.
const (
	TeacherActive      = "active"
	TeacherDeactivated = "deactivated"
)

func (teachersProjection) Name() string { return teachersName }

// SchemaVersion: 1 added the onboarding; a rebuild also applies the
// teacher.onboarded.v1 events consumed before they were handled.
func (teachersProjection) SchemaVersion() int { return 1 }

func (teachersProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelTeacher, domain.ChannelStudent}
}

func (teachersProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS teachers (
    teacher_id             text PRIMARY KEY,
    school_id              text NOT NULL,
    name                   text NOT NULL,
    email                  text NOT NULL,
    subjects               text[] NOT NULL,
    preferred_time_slots   text[] NOT NULL,
    max_classes_per_day    int NOT NULL,
    status                 text NOT NULL,
    deactivation_reason    text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL,
    preferences_updated_at timestamptz,
    deactivated_at         timestamptz,
    -- teacher.onboarded.v1: null / 0 / '' until the onboarding is completed
    onboarded_at           timestamptz,
    onboarding_timetable   int NOT NULL DEFAULT 0, -- the timetable version that gave the lessons; 0 when none
    lessons_assigned       int NOT NULL DEFAULT 0,
    lessons_unfilled       int NOT NULL DEFAULT 0,
    welcome_message_id     text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS teachers_name_idx ON teachers (school_id, name, teacher_id);
CREATE INDEX IF NOT EXISTS teachers_created_idx ON teachers (school_id, created_at, teacher_id);
CREATE INDEX IF NOT EXISTS teachers_subjects_idx ON teachers USING gin (subjects);

-- Written by class streams only.
CREATE TABLE IF NOT EXISTS classes (
    class_id    text PRIMARY KEY,
    school_id   text NOT NULL,
    name        text NOT NULL,
    grade_level int NOT NULL
);
CREATE TABLE IF NOT EXISTS class_subject_teachers (
    class_id   text NOT NULL,
    subject    text NOT NULL,
    school_id  text NOT NULL,
    teacher_id text NOT NULL,
    PRIMARY KEY (class_id, subject)
);
CREATE INDEX IF NOT EXISTS class_subject_teachers_teacher_idx ON class_subject_teachers (school_id, teacher_id);
`
}

func (teachersProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.TeacherCreatedType:
		ev, err := decodeAs[domain.TeacherCreated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO teachers (teacher_id, school_id, name, email, subjects, preferred_time_slots, max_classes_per_day, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)
ON CONFLICT (teacher_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name, email = excluded.email,
    subjects = excluded.subjects, preferred_time_slots = excluded.preferred_time_slots,
    max_classes_per_day = excluded.max_classes_per_day, status = 'active', created_at = excluded.created_at`,
			ev.TeacherID, tenantOf(e, ev.SchoolID), ev.Name, ev.Email.String(), strs(ev.Subjects),
			strs(ev.Preferences.PreferredTimeSlots), ev.Preferences.MaxClassesPerDay, ev.At)
		return err
	case domain.TeacherPreferencesUpdatedType:
		ev, err := decodeAs[domain.TeacherPreferencesUpdated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teachers SET preferred_time_slots = $2, max_classes_per_day = $3, preferences_updated_at = $4
WHERE teacher_id = $1`, ev.TeacherID, strs(ev.Preferences.PreferredTimeSlots), ev.Preferences.MaxClassesPerDay, ev.At)
		return err
	case domain.TeacherDeactivatedType:
		ev, err := decodeAs[domain.TeacherDeactivated](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teachers SET status = 'deactivated', deactivation_reason = $2, deactivated_at = $3
WHERE teacher_id = $1`, ev.TeacherID, ev.Reason, ev.At)
		return err
	case domain.TeacherOnboardedType:
		ev, err := decodeAs[domain.TeacherOnboarded](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teachers SET onboarded_at = $2, onboarding_timetable = $3, lessons_assigned = $4,
    lessons_unfilled = $5, welcome_message_id = $6
WHERE teacher_id = $1`, ev.TeacherID, ev.At, ev.TimetableVersion, ev.LessonsAssigned, ev.LessonsUnfilled, ev.WelcomeMessageID)
		return err
	case domain.ClassCreatedType:
		ev, err := decodeAs[domain.ClassCreated](ctx, e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		if _, err := tx.Exec(ctx, `
INSERT INTO classes (class_id, school_id, name, grade_level) VALUES ($1, $2, $3, $4)
ON CONFLICT (class_id) DO UPDATE SET school_id = excluded.school_id, name = excluded.name, grade_level = excluded.grade_level`,
			ev.ClassID, school, ev.Name, int(ev.GradeLevel)); err != nil {
			return err
		}
		var subjects, teachers []string
		for _, s := range ev.Subjects {
			if s.TeacherID != "" {
				subjects, teachers = append(subjects, string(s.Subject)), append(teachers, s.TeacherID)
			}
		}
		return setSubjectTeachers(ctx, tx, school, ev.ClassID, subjects, teachers)
	case domain.ClassSubjectTeacherAssignedType:
		ev, err := decodeAs[domain.ClassSubjectTeacherAssigned](ctx, e)
		if err != nil {
			return err
		}
		return setSubjectTeachers(ctx, tx, tenantOf(e, ev.SchoolID), ev.ClassID, []string{string(ev.Subject)}, []string{ev.TeacherID})
	}
	return nil
}

// setSubjectTeachers records the teachers of subjects of a class.
func setSubjectTeachers(ctx context.Context, tx pgx.Tx, school, classID string, subjects, teachers []string) error {
	if len(subjects) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
INSERT INTO class_subject_teachers (class_id, subject, school_id, teacher_id)
SELECT $1, s, $2, t FROM unnest($3::text[], $4::text[]) AS u(s, t)
ON CONFLICT (class_id, subject) DO UPDATE SET teacher_id = excluded.teacher_id, school_id = excluded.school_id`,
		classID, school, subjects, teachers)
	return err
}
