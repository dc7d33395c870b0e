package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// attendanceProjection keeps the class registers (streams
// attendance-<registerId>, one per class, date and period): their lines as
// amended, and the history of amendments. Each line also carries its
// class, date and ISO week, so rates per student, class and school are
// plain aggregates over the lines.
//
// Rate rule: a line counts as attended when present or late; excused
// lines are left out of the denominator; absent lines count against. So
// rate = (present + late) / (present + late + absent), undefined (null)
// when a week has only excused lines. A register's lines stay with the
// register's class even if a student moves class later.
type attendanceProjection struct{}

const attendanceName = "attendance"

func (attendanceProjection) Name() string { return attendanceName }

func (attendanceProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelAttendance}
}

func (attendanceProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS registers (
    register_id text PRIMARY KEY,
    school_id   text NOT NULL,
    class_id    text NOT NULL,
    date        date NOT NULL,
    period      int NOT NULL,
    iso_year    int NOT NULL,
    iso_week    int NOT NULL,
    week_start  date NOT NULL, -- the Monday of the ISO week
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL,
    amended_at  timestamptz,
    amendments  int NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS registers_date_idx ON registers (school_id, date, period, register_id);
CREATE INDEX IF NOT EXISTS registers_class_idx ON registers (school_id, class_id, date, period);

CREATE TABLE IF NOT EXISTS register_lines (
    register_id text NOT NULL,
    student_id  text NOT NULL,
    school_id   text NOT NULL,
    class_id    text NOT NULL,
    date        date NOT NULL,
    week_start  date NOT NULL,
    status      text NOT NULL,
    note        text NOT NULL,
    PRIMARY KEY (register_id, student_id)
);
CREATE INDEX IF NOT EXISTS register_lines_student_idx ON register_lines (school_id, student_id, week_start);
CREATE INDEX IF NOT EXISTS register_lines_class_idx ON register_lines (school_id, class_id, week_start);
CREATE INDEX IF NOT EXISTS register_lines_week_idx ON register_lines (school_id, week_start);

CREATE TABLE IF NOT EXISTS register_amendments (
    register_id     text NOT NULL,
    seq             bigint NOT NULL, -- the amendment's version in the register's stream
    student_id      text NOT NULL,
    school_id       text NOT NULL,
    previous_status text,            -- null: the student was not in the register before
    status          text NOT NULL,
    note            text NOT NULL,
    amended_by      text NOT NULL,
    amended_at      timestamptz NOT NULL,
    PRIMARY KEY (register_id, seq, student_id)
);
`
}

func (attendanceProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.AttendanceRecordedType:
		ev, err := decodeAs[domain.AttendanceRecorded](e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		year, week, monday := isoWeek(ev.Date.Time())
		if _, err := tx.Exec(ctx, `
INSERT INTO registers (register_id, school_id, class_id, date, period, iso_year, iso_week, week_start, recorded_by, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (register_id) DO UPDATE SET school_id = excluded.school_id, class_id = excluded.class_id, date = excluded.date,
    period = excluded.period, iso_year = excluded.iso_year, iso_week = excluded.iso_week, week_start = excluded.week_start,
    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at, amended_at = NULL, amendments = 0`,
			ev.RegisterID, school, ev.ClassID, ev.Date.Time(), ev.Period, year, week, monday, ev.RecordedBy, ev.At); err != nil {
			return err
		}
		return putLines(ctx, tx, school, ev.RegisterID, ev.ClassID, ev.Date, ev.Entries)
	case domain.AttendanceAmendedType:
		ev, err := decodeAs[domain.AttendanceAmended](e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		students, statuses, notes := lineArrays(ev.Entries)
		// The history first, reading each line's status before the change.
		if _, err := tx.Exec(ctx, `
INSERT INTO register_amendments (register_id, seq, student_id, school_id, previous_status, status, note, amended_by, amended_at)
SELECT $1, $2, u.s, $3, l.status, u.st, u.n, $7, $8
  FROM unnest($4::text[], $5::text[], $6::text[]) AS u(s, st, n)
  LEFT JOIN register_lines l ON l.register_id = $1 AND l.student_id = u.s
ON CONFLICT (register_id, seq, student_id) DO NOTHING`,
			ev.RegisterID, int64(e.Version), school, students, statuses, notes, ev.AmendedBy, ev.At); err != nil {
			return err
		}
		if err := putLines(ctx, tx, school, ev.RegisterID, ev.ClassID, ev.Date, ev.Entries); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE registers SET amended_at = $2,
    amendments = (SELECT count(DISTINCT seq) FROM register_amendments WHERE register_id = $1)
WHERE register_id = $1`, ev.RegisterID, ev.At)
		return err
	}
	return nil
}

func lineArrays(entries []domain.AttendanceEntry) (students, statuses, notes []string) {
	students, statuses, notes = make([]string, len(entries)), make([]string, len(entries)), make([]string, len(entries))
	for i, l := range entries {
		students[i], statuses[i], notes[i] = l.StudentID, string(l.Status), l.Note
	}
	return students, statuses, notes
}

// putLines sets students' lines of a register, replacing earlier ones.
func putLines(ctx context.Context, tx pgx.Tx, school, registerID, classID string, date domain.Date, entries []domain.AttendanceEntry) error {
	students, statuses, notes := lineArrays(entries)
	_, _, monday := isoWeek(date.Time())
	_, err := tx.Exec(ctx, `
INSERT INTO register_lines (register_id, student_id, school_id, class_id, date, week_start, status, note)
SELECT $1, s, $2, $3, $4, $5, st, n FROM unnest($6::text[], $7::text[], $8::text[]) AS u(s, st, n)
ON CONFLICT (register_id, student_id) DO UPDATE SET status = excluded.status, note = excluded.note,
    school_id = excluded.school_id, class_id = excluded.class_id, date = excluded.date, week_start = excluded.week_start`,
		registerID, school, classID, date.Time(), monday, students, statuses, notes)
	return err
}
