// Package directory answers the questions of the workflows and of the
// notification deliveries that no single stream answers, from the
// projections' read models: the schools, a school's classes with their
// roster sizes, a student's attendance over a period, a guardian's
// meetings (sagas.Directory), and the e-mail address of a message's
// recipient (notify.AddressBook).
//
// It reads what the projections have applied, so it may lag the event
// store by a moment: the workflows use it to find candidates and let the
// commands, which read the store, decide.
//
// Addresses: a teacher's is the teacher directory's (rm_teachers; none
// once the teacher is deactivated); a guardian's is the one given when a
// child of theirs was enrolled (rm_students.student_guardians; with
// several children, the one recorded with the most recently enrolled
// child still enrolled). The read models hold no administrators, so an
// admin recipient, the school office ("office") as well as a single
// administrator, has an address only when configured with
// WithAdminAddresses (see ParseAdminAddresses for the text form serve can
// read from its configuration).
package directory

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/notify"
	"github.com/edusmarthub/edusmarthub/projections"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// Directory reads the read models. It is safe for concurrent use.
type Directory struct {
	db     *pgxpool.Pool
	admins map[string]notify.Address
}

var (
	_ sagas.Directory    = (*Directory)(nil)
	_ notify.AddressBook = (*Directory)(nil)
)

// Option configures a Directory.
type Option func(*Directory)

// WithAdminAddresses gives administrators e-mail addresses. Keys:
// "<schoolId>/<adminId>" for one administrator (adminId "office" is the
// school office), "<schoolId>" for every admin recipient of that school
// without an entry of their own, "*" for every admin recipient of every
// school without a closer entry (a platform operations mailbox).
func WithAdminAddresses(addrs map[string]notify.Address) Option {
	return func(d *Directory) {
		for k, v := range addrs {
			d.admins[k] = v
		}
	}
}

// New returns the directory over the read models in pool's database.
func New(pool *pgxpool.Pool, opts ...Option) *Directory {
	d := &Directory{db: pool, admins: map[string]notify.Address{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// pageSize is how many rows each page of a full listing takes.
const pageSize = projections.MaxPageLimit

// Schools lists every school, by name.
func (d *Directory) Schools(ctx context.Context) ([]sagas.SchoolSummary, error) {
	var out []sagas.SchoolSummary
	page := projections.PageParams{Limit: pageSize}
	for {
		p, err := projections.ListSchools(ctx, d.db, page)
		if err != nil {
			return nil, fmt.Errorf("directory: schools: %w", err)
		}
		for _, s := range p.Items {
			out = append(out, sagas.SchoolSummary{ID: s.SchoolID, Name: s.Name, Timezone: s.Timezone})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		page.Cursor = p.NextCursor
	}
}

// Classes lists a school's classes by name, each with the number of
// students on its roster.
func (d *Directory) Classes(ctx context.Context, schoolID string) ([]sagas.ClassSummary, error) {
	var out []sagas.ClassSummary
	f := projections.ClassFilter{PageParams: projections.PageParams{Limit: pageSize}}
	for {
		p, err := projections.ListClasses(ctx, d.db, schoolID, f)
		if err != nil {
			return nil, fmt.Errorf("directory: classes of school %s: %w", schoolID, err)
		}
		for _, c := range p.Items {
			out = append(out, sagas.ClassSummary{ID: c.ClassID, Name: c.Name, GradeLevel: c.GradeLevel,
				Capacity: c.Capacity, Size: c.Students})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

// Attendance counts the student's register lines (as amended) of the
// registers dated in [from, to]; a zero date leaves that end open. A
// student with no lines counts zero. It adds up the attendance read
// model's weekly figures for the student.
func (d *Directory) Attendance(ctx context.Context, schoolID, studentID string, from, to domain.Date) (sagas.AttendanceSummary, error) {
	var a sagas.AttendanceSummary
	if schoolID == "" {
		return a, domain.Invalid("schoolId", "is required")
	}
	if studentID == "" {
		// The weekly rates read no student as the whole school.
		return a, domain.Invalid("studentId", "is required")
	}
	// A zero date is "" (Date.String): an open end.
	f := projections.AttendanceRateFilter{StudentID: studentID, From: from.String(), To: to.String()}
	weeks, err := projections.WeeklyAttendanceRates(ctx, d.db, schoolID, f)
	if err != nil {
		return sagas.AttendanceSummary{}, fmt.Errorf("directory: attendance of student %s: %w", studentID, err)
	}
	for _, w := range weeks {
		a.Present += w.Present
		a.Late += w.Late
		a.Absent += w.Absent
		a.Excused += w.Excused
	}
	return a, nil
}

// GuardianMeetings lists the slots, in calendar order, of the guardian's
// meetings dated in [from, to] that are not cancelled (scheduled, and
// those already held); a zero date leaves that end open.
func (d *Directory) GuardianMeetings(ctx context.Context, schoolID, guardianID string, from, to domain.Date) ([]domain.MeetingSlot, error) {
	if guardianID == "" {
		return nil, domain.Invalid("guardianId", "is required")
	}
	var out []domain.MeetingSlot
	f := projections.MeetingFilter{GuardianID: guardianID, From: from.String(), To: to.String(),
		PageParams: projections.PageParams{Limit: pageSize}}
	for {
		p, err := projections.ListMeetings(ctx, d.db, schoolID, f)
		if err != nil {
			return nil, fmt.Errorf("directory: meetings of guardian %s: %w", guardianID, err)
		}
		for _, m := range p.Items {
			if m.Status == string(domain.MeetingStatusCancelled) || m.Date == "" {
				continue
			}
			date, err := domain.ParseDate("date", m.Date)
			if err != nil {
				return nil, fmt.Errorf("directory: meeting %s: %w", m.MeetingID, err)
			}
			out = append(out, domain.MeetingSlot{Date: date, Period: m.Period})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		f.Cursor = p.NextCursor
	}
}

// Address resolves a message recipient of the school to an e-mail
// address (notify.AddressBook).
func (d *Directory) Address(ctx context.Context, schoolID string, r domain.Recipient) (notify.Address, bool, error) {
	if schoolID == "" || r.ID == "" {
		return notify.Address{}, false, nil
	}
	switch r.Kind {
	case domain.RecipientTeacher:
		t, err := projections.GetTeacher(ctx, d.db, schoolID, r.ID)
		if errors.Is(err, projections.ErrNotFound) {
			return notify.Address{}, false, nil
		}
		if err != nil {
			return notify.Address{}, false, fmt.Errorf("directory: teacher %s: %w", r.ID, err)
		}
		if t.Status != projections.TeacherActive || t.Email == "" {
			return notify.Address{}, false, nil
		}
		return notify.Address{Email: t.Email, Name: t.Name}, true, nil
	case domain.RecipientGuardian:
		var a notify.Address
		err := d.db.QueryRow(ctx, `
SELECT g.email, g.name
  FROM rm_students.student_guardians g
  LEFT JOIN rm_students.students s ON s.school_id = g.school_id AND s.student_id = g.student_id
 WHERE g.school_id = $1 AND g.guardian_id = $2 AND g.email <> ''
 ORDER BY (s.status = 'enrolled') DESC NULLS LAST, s.enrolled_at DESC NULLS LAST, g.student_id
 LIMIT 1`, schoolID, r.ID).Scan(&a.Email, &a.Name)
		if errors.Is(err, pgx.ErrNoRows) {
			return notify.Address{}, false, nil
		}
		if err != nil {
			return notify.Address{}, false, fmt.Errorf("directory: guardian %s: %w", r.ID, err)
		}
		return a, true, nil
	case domain.RecipientAdmin:
		for _, k := range []string{schoolID + "/" + r.ID, schoolID, "*"} {
			if a, ok := d.admins[k]; ok && a.Email != "" {
				return a, true, nil
			}
		}
	}
	return notify.Address{}, false, nil
}

// ParseAdminAddresses reads the administrators' addresses for
// WithAdminAddresses from text: entries "key=address" separated by ";" or
// new lines, where key is "<schoolId>", "<schoolId>/<adminId>" or "*" and
// address is "Name <user@host>" or "user@host". For example:
//
//	*=Platform Ops <ops@edusmarthub.example>; 7c9e...=School Office <office@school.example>
//
// It reports every bad entry at once.
func ParseAdminAddresses(s string) (map[string]notify.Address, error) {
	out := map[string]notify.Address{}
	var errs []error
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' })
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		key, val, ok := strings.Cut(e, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			errs = append(errs, fmt.Errorf("admin address %q: want key=address", e))
			continue
		}
		a, err := mail.ParseAddress(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin address for %q: %q: %w", key, val, err))
			continue
		}
		if _, dup := out[key]; dup {
			errs = append(errs, fmt.Errorf("admin address for %q given twice", key))
			continue
		}
		out[key] = notify.Address{Email: a.Address, Name: a.Name}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
