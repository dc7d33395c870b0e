package projections

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
)

// AttendanceCounts counts register lines by status. Rate is (present +
// late) / (present + late + absent): excused lines are left out; nil when
// nothing is left.
type AttendanceCounts struct {
	Present int      `json:"present"`
	Late    int      `json:"late"`
	Absent  int      `json:"absent"`
	Excused int      `json:"excused"`
	Rate    *float64 `json:"rate"`
}

// Register is a class register with its lines (amendments applied) and
// the history of amendments.
type Register struct {
	RegisterID string              `json:"registerId"`
	ClassID    string              `json:"classId"`
	Date       string              `json:"date"`
	Period     int                 `json:"period"`
	RecordedBy string              `json:"recordedBy"`
	RecordedAt time.Time           `json:"recordedAt"`
	AmendedAt  *time.Time          `json:"amendedAt,omitempty"`
	Lines      []RegisterLine      `json:"lines"`
	Amendments []RegisterAmendment `json:"amendments"`
	AttendanceCounts
}

// RegisterLine is a student's line in a register.
type RegisterLine struct {
	StudentID string `json:"studentId"`
	Status    string `json:"status"`
	Note      string `json:"note,omitempty"`
}

// RegisterAmendment is one corrected line. PreviousStatus is empty when
// the amendment added the student to the register.
type RegisterAmendment struct {
	StudentID      string    `json:"studentId"`
	PreviousStatus string    `json:"previousStatus,omitempty"`
	Status         string    `json:"status"`
	Note           string    `json:"note,omitempty"`
	AmendedBy      string    `json:"amendedBy"`
	AmendedAt      time.Time `json:"amendedAt"`
}

// RegisterSummary is a register in a list.
type RegisterSummary struct {
	RegisterID string     `json:"registerId"`
	ClassID    string     `json:"classId"`
	Date       string     `json:"date"`
	Period     int        `json:"period"`
	RecordedAt time.Time  `json:"recordedAt"`
	AmendedAt  *time.Time `json:"amendedAt,omitempty"`
	Amendments int        `json:"amendments"`
	AttendanceCounts
}

// RegisterFilter selects registers, newest first; From and To are dates
// (YYYY-MM-DD, inclusive).
type RegisterFilter struct {
	ClassID  string
	From, To string
	PageParams
}

// AttendanceRateFilter selects whose weekly rates: a student's, a class's
// or, with neither, the school's; From and To (YYYY-MM-DD, inclusive)
// bound the register dates.
type AttendanceRateFilter struct {
	StudentID string
	ClassID   string
	From, To  string
}

// WeeklyAttendance is an attendance rate over one ISO week.
type WeeklyAttendance struct {
	ISOYear   int    `json:"isoYear"`
	ISOWeek   int    `json:"isoWeek"`
	WeekStart string `json:"weekStart"` // the Monday, YYYY-MM-DD
	AttendanceCounts
}

// countColumns aggregates attendance lines (alias l, with a status
// column) into AttendanceCounts columns.
const countColumns = countByStatus + `,
    round(count(*) FILTER (WHERE l.status IN ('present', 'late'))::numeric
          / nullif(count(*) FILTER (WHERE l.status IN ('present', 'late', 'absent')), 0), 4)::float8`

// registerCountColumns are a register's (alias g) AttendanceCounts
// columns.
const registerCountColumns = `g.present, g.late, g.absent, g.excused,
    round((g.present + g.late)::numeric / nullif(g.present + g.late + g.absent, 0), 4)::float8`

// sumCountColumns adds up registers' (alias g) counts into
// AttendanceCounts columns.
const sumCountColumns = `sum(g.present), sum(g.late), sum(g.absent), sum(g.excused),
    round(sum(g.present + g.late)::numeric / nullif(sum(g.present + g.late + g.absent), 0), 4)::float8`

func (c *AttendanceCounts) dest() []any {
	return []any{&c.Present, &c.Late, &c.Absent, &c.Excused, &c.Rate}
}

// GetRegister returns the register of a class for a date and period.
func GetRegister(ctx context.Context, db Querier, schoolID, classID, date string, period int) (Register, error) {
	if err := requireSchool(schoolID); err != nil {
		return Register{}, err
	}
	d, err := domain.ParseDate("date", date)
	if err != nil {
		return Register{}, err
	}
	id := domain.AttendanceRegisterID(classID, d, period)
	var r Register
	dest := append([]any{&r.RegisterID, &r.ClassID, &r.Date, &r.Period, &r.RecordedBy, &r.RecordedAt, &r.AmendedAt}, r.AttendanceCounts.dest()...)
	err = db.QueryRow(ctx, `SELECT g.register_id, g.class_id, g.date::text, g.period, g.recorded_by, g.recorded_at, g.amended_at, `+
		registerCountColumns+`
  FROM rm_attendance.registers g
 WHERE g.school_id = $1 AND g.register_id = $2`, schoolID, id).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Register{}, notFound("no register of class %s on %s, period %d", classID, d, period)
	}
	if err != nil {
		return Register{}, err
	}
	rows, err := db.Query(ctx, `SELECT l.student_id, l.status, l.note
  FROM rm_attendance.registers g, unnest(g.students, g.statuses, g.notes) AS l(student_id, status, note)
 WHERE g.school_id = $1 AND g.register_id = $2 ORDER BY l.student_id`, schoolID, id)
	if err != nil {
		return Register{}, err
	}
	if r.Lines, err = collect(rows, func(row pgx.Rows) (RegisterLine, error) {
		var l RegisterLine
		err := row.Scan(&l.StudentID, &l.Status, &l.Note)
		return l, err
	}); err != nil {
		return Register{}, err
	}
	rows, err = db.Query(ctx, `SELECT student_id, coalesce(previous_status, ''), status, note, amended_by, amended_at
  FROM rm_attendance.register_amendments WHERE school_id = $1 AND register_id = $2 ORDER BY seq, student_id`, schoolID, id)
	if err != nil {
		return Register{}, err
	}
	if r.Amendments, err = collect(rows, func(row pgx.Rows) (RegisterAmendment, error) {
		var a RegisterAmendment
		err := row.Scan(&a.StudentID, &a.PreviousStatus, &a.Status, &a.Note, &a.AmendedBy, &a.AmendedAt)
		return a, err
	}); err != nil {
		return Register{}, err
	}
	if r.Lines == nil {
		r.Lines = []RegisterLine{}
	}
	if r.Amendments == nil {
		r.Amendments = []RegisterAmendment{}
	}
	return r, nil
}

// ListRegisters lists registers, newest first (date, then period).
func ListRegisters(ctx context.Context, db Querier, schoolID string, f RegisterFilter) (Page[RegisterSummary], error) {
	if err := requireSchool(schoolID); err != nil {
		return Page[RegisterSummary]{}, err
	}
	p, err := keyset{list: "registers", desc: true,
		cols: []sortKey{{"g.date", "date"}, {"g.period", "int"}, {"g.register_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[RegisterSummary]{}, err
	}
	from, err := dateParam("from", f.From)
	if err != nil {
		return Page[RegisterSummary]{}, err
	}
	to, err := dateParam("to", f.To)
	if err != nil {
		return Page[RegisterSummary]{}, err
	}
	var q sqlQuery
	q.where("g.school_id = " + q.arg(schoolID))
	if f.ClassID != "" {
		q.where("g.class_id = " + q.arg(f.ClassID))
	}
	if from != nil {
		q.where("g.date >= " + q.arg(*from))
	}
	if to != nil {
		q.where("g.date <= " + q.arg(*to))
	}
	return queryPage(ctx, db, p, `SELECT g.register_id, g.class_id, g.date::text, g.period, g.recorded_at, g.amended_at, g.amendments, `+
		registerCountColumns+`
  FROM rm_attendance.registers g`, &q,
		func(r pgx.Rows) (RegisterSummary, error) {
			var s RegisterSummary
			dest := append([]any{&s.RegisterID, &s.ClassID, &s.Date, &s.Period, &s.RecordedAt, &s.AmendedAt, &s.Amendments},
				s.AttendanceCounts.dest()...)
			err := r.Scan(dest...)
			return s, err
		},
		func(s RegisterSummary) []string { return []string{s.Date, strconv.Itoa(s.Period), s.RegisterID} })
}

// WeeklyAttendanceRates returns attendance per ISO week, oldest first, of
// a student, a class or the school (see AttendanceRateFilter). Weeks
// without registers are absent.
func WeeklyAttendanceRates(ctx context.Context, db Querier, schoolID string, f AttendanceRateFilter) ([]WeeklyAttendance, error) {
	if err := requireSchool(schoolID); err != nil {
		return nil, err
	}
	if f.StudentID != "" && f.ClassID != "" {
		return nil, domain.Invalid("classId", "give a student or a class, not both")
	}
	from, err := dateParam("from", f.From)
	if err != nil {
		return nil, err
	}
	to, err := dateParam("to", f.To)
	if err != nil {
		return nil, err
	}
	// A class's or the school's rates add up the registers' counts. A
	// student's count the student's line of each of the student's
	// registers, found first through the index on the students array: the
	// CTE is materialized so that a planner without statistics (a fresh or
	// rebuilt table) cannot read a school-wide index on the dates instead.
	var q sqlQuery
	with, table, counts, g := "", "rm_attendance.registers g", sumCountColumns, "g"
	if f.StudentID != "" {
		s := q.arg(f.StudentID)
		with = `WITH l AS MATERIALIZED (
    SELECT g.school_id, g.class_id, g.date, g.week_start, g.statuses[array_position(g.students, ` + s + `::text)] AS status
      FROM rm_attendance.registers g WHERE g.students @> ARRAY[` + s + `::text])
`
		table, counts, g = "l", countColumns, "l"
	}
	q.where(g + ".school_id = " + q.arg(schoolID))
	if f.ClassID != "" {
		q.where(g + ".class_id = " + q.arg(f.ClassID))
	}
	if from != nil {
		q.where(g + ".date >= " + q.arg(*from))
	}
	if to != nil {
		q.where(g + ".date <= " + q.arg(*to))
	}
	rows, err := db.Query(ctx, with+`SELECT extract(isoyear FROM `+g+`.week_start)::int, extract(week FROM `+g+`.week_start)::int,
    `+g+`.week_start::text, `+counts+`
  FROM `+table+q.whereSQL()+` GROUP BY `+g+`.week_start ORDER BY `+g+`.week_start`, q.args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(r pgx.Rows) (WeeklyAttendance, error) {
		var w WeeklyAttendance
		err := r.Scan(append([]any{&w.ISOYear, &w.ISOWeek, &w.WeekStart}, w.AttendanceCounts.dest()...)...)
		return w, err
	})
	if out == nil && err == nil {
		out = []WeeklyAttendance{}
	}
	return out, err
}
