package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// attendanceProjection keeps the class registers (streams
// attendance-<registerId>, one per class, date and period): their lines as
// amended, and the history of amendments. A register is one row holding
// its lines as parallel arrays (students, statuses, notes) and its counts
// by status: a rebuild writes one row per register rather than one per
// student, and class and school rates add up the counts. A student's lines
// are found through the GIN index on the students array.
//
// Rate rule: a line counts as attended when present or late; excused
// lines are left out of the denominator; absent lines count against. So
// rate = (present + late) / (present + late + absent), undefined (null)
// when a week has only excused lines. A register's lines stay with the
// register's class even if a student moves class later.
type attendanceProjection struct{}

const attendanceName = "attendance"

func (attendanceProjection) Name() string { return attendanceName }

// SchemaVersion: 2 keeps a register's lines in the register's row (was a
// register_lines table with a row per student).
func (attendanceProjection) SchemaVersion() int { return 2 }

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
    amendments  int NOT NULL DEFAULT 0,
    -- The lines as amended, in the order they were first recorded: the
    -- student of a line, its status and note at the same position.
    students    text[] NOT NULL,
    statuses    text[] NOT NULL,
    notes       text[] NOT NULL,
    -- The lines by status, kept with them.
    present     int NOT NULL,
    late        int NOT NULL,
    absent      int NOT NULL,
    excused     int NOT NULL
);
CREATE INDEX IF NOT EXISTS registers_date_idx ON registers (school_id, date, period, register_id);
CREATE INDEX IF NOT EXISTS registers_class_idx ON registers (school_id, class_id, date, period);
CREATE INDEX IF NOT EXISTS registers_students_idx ON registers USING gin (students);

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
		ev, err := decodeAs[domain.AttendanceRecorded](ctx, e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		year, week, monday := isoWeek(ev.Date.Time())
		students, statuses, notes := lineArrays(ev.Entries)
		_, err = tx.Exec(ctx, `
INSERT INTO registers (register_id, school_id, class_id, date, period, iso_year, iso_week, week_start, recorded_by, recorded_at,
    students, statuses, notes, present, late, absent, excused)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, `+countByStatus+`
  FROM unnest($12::text[]) AS l(status)
ON CONFLICT (register_id) DO UPDATE SET school_id = excluded.school_id, class_id = excluded.class_id, date = excluded.date,
    period = excluded.period, iso_year = excluded.iso_year, iso_week = excluded.iso_week, week_start = excluded.week_start,
    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at, amended_at = NULL, amendments = 0,
    students = excluded.students, statuses = excluded.statuses, notes = excluded.notes,
    present = excluded.present, late = excluded.late, absent = excluded.absent, excused = excluded.excused`,
			ev.RegisterID, school, ev.ClassID, ev.Date.Time(), ev.Period, year, week, monday, ev.RecordedBy, ev.At,
			students, statuses, notes)
		return err
	case domain.AttendanceAmendedType:
		ev, err := decodeAs[domain.AttendanceAmended](ctx, e)
		if err != nil {
			return err
		}
		school := tenantOf(e, ev.SchoolID)
		students, statuses, notes := lineArrays(ev.Entries)
		// The history first: it reads each line's status before the
		// update below, queued after it, changes the lines.
		if _, err := tx.Exec(ctx, `
INSERT INTO register_amendments (register_id, seq, student_id, school_id, previous_status, status, note, amended_by, amended_at)
SELECT $1, $2, u.s, $3, g.statuses[array_position(g.students, u.s)], u.st, u.n, $7, $8
  FROM unnest($4::text[], $5::text[], $6::text[]) AS u(s, st, n)
  LEFT JOIN registers g ON g.register_id = $1
ON CONFLICT (register_id, seq, student_id) DO NOTHING`,
			ev.RegisterID, int64(e.Version), school, students, statuses, notes, ev.AmendedBy, ev.At); err != nil {
			return err
		}
		// The lines as amended: a student's line changes in place, a
		// student new to the register is added at the end; the counts
		// are those of the new lines.
		_, err = tx.Exec(ctx, `
UPDATE registers g SET (students, statuses, notes, present, late, absent, excused) = (
    SELECT array_agg(l.s ORDER BY l.k), array_agg(l.status ORDER BY l.k), array_agg(l.n ORDER BY l.k), `+countByStatus+`
      FROM (SELECT o.s, coalesce(u.st, o.st) AS status, coalesce(u.n, o.n) AS n, o.k
              FROM unnest(g.students, g.statuses, g.notes) WITH ORDINALITY AS o(s, st, n, k)
              LEFT JOIN unnest($2::text[], $3::text[], $4::text[]) AS u(s, st, n) ON u.s = o.s
            UNION ALL
            SELECT u.s, u.st, u.n, cardinality(g.students) + u.k
              FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(s, st, n, k)
             WHERE array_position(g.students, u.s) IS NULL) AS l),
    amended_at = $5,
    amendments = (SELECT count(DISTINCT seq) FROM register_amendments WHERE register_id = $1)
WHERE g.register_id = $1`, ev.RegisterID, students, statuses, notes, ev.At)
		return err
	}
	return nil
}

// countByStatus counts attendance lines (alias l, with a status column)
// by status, present, late, absent and excused: the one rule of the
// counts, for a recorded register, an amended one and the rates.
const countByStatus = `count(*) FILTER (WHERE l.status = 'present'), count(*) FILTER (WHERE l.status = 'late'),
    count(*) FILTER (WHERE l.status = 'absent'), count(*) FILTER (WHERE l.status = 'excused')`

func lineArrays(entries []domain.AttendanceEntry) (students, statuses, notes []string) {
	students, statuses, notes = make([]string, len(entries)), make([]string, len(entries)), make([]string, len(entries))
	for i, l := range entries {
		students[i], statuses[i], notes[i] = l.StudentID, string(l.Status), l.Note
	}
	return students, statuses, notes
}
