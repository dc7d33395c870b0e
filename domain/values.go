package domain

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Value objects shared by the aggregates. Each has a parser that is the only
// way to make a valid value, and IsZero for "not set".

// Email is a normalized (trimmed, lower-case) e-mail address.
type Email struct{ s string }

// ParseEmail validates an address; field names the input for the error.
func ParseEmail(field, s string) (Email, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Email{}, Invalid(field, "is required")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return Email{}, Invalid(field, "%q is not a valid e-mail address", s)
	}
	return Email{s: strings.ToLower(s)}, nil
}

func (e Email) String() string { return e.s }
func (e Email) IsZero() bool   { return e.s == "" }

// MarshalText and UnmarshalText keep events readable JSON strings.
func (e Email) MarshalText() ([]byte, error) { return []byte(e.s), nil }
func (e *Email) UnmarshalText(b []byte) error {
	e.s = string(b)
	return nil
}

// Subject is a taught subject, e.g. "mathematics". Compared
// case-insensitively, stored trimmed and lower-case.
type Subject string

const maxSubjectLen = 64

// ParseSubject validates a subject name.
func ParseSubject(field, s string) (Subject, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", Invalid(field, "is required")
	case len(s) > maxSubjectLen:
		return "", Invalid(field, "is longer than %d characters", maxSubjectLen)
	}
	return Subject(s), nil
}

// ParseSubjects validates a non-empty list of distinct subjects.
func ParseSubjects(field string, in []string) ([]Subject, error) {
	if len(in) == 0 {
		return nil, Invalid(field, "needs at least one subject")
	}
	out := make([]Subject, 0, len(in))
	seen := map[Subject]bool{}
	for i, s := range in {
		sub, err := ParseSubject(fmt.Sprintf("%s[%d]", field, i), s)
		if err != nil {
			return nil, err
		}
		if seen[sub] {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "subject %q is listed twice", sub)
		}
		seen[sub] = true
		out = append(out, sub)
	}
	return out, nil
}

// GradeLevel is a school year, 0 (kindergarten) to 13.
type GradeLevel int

const (
	MinGradeLevel GradeLevel = 0
	MaxGradeLevel GradeLevel = 13
)

// ParseGradeLevel validates a grade level.
func ParseGradeLevel(field string, n int) (GradeLevel, error) {
	if n < int(MinGradeLevel) || n > int(MaxGradeLevel) {
		return 0, Invalid(field, "must be between %d and %d, got %d", MinGradeLevel, MaxGradeLevel, n)
	}
	return GradeLevel(n), nil
}

// Weekday is a school day. Stored as its lower-case English name.
type Weekday string

const (
	Monday    Weekday = "monday"
	Tuesday   Weekday = "tuesday"
	Wednesday Weekday = "wednesday"
	Thursday  Weekday = "thursday"
	Friday    Weekday = "friday"
	Saturday  Weekday = "saturday"
	Sunday    Weekday = "sunday"
)

// WeekdayFromString parses a day name.
func WeekdayFromString(field, s string) (Weekday, error) {
	switch d := Weekday(strings.ToLower(strings.TrimSpace(s))); d {
	case Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday:
		return d, nil
	}
	return "", Invalid(field, "%q is not a weekday (monday … sunday)", s)
}

// WeekdayOf returns the weekday of a calendar date.
func WeekdayOf(d Date) Weekday {
	return Weekday(strings.ToLower(d.t.Weekday().String()))
}

func (d Weekday) IsZero() bool { return d == "" }

// MaxPeriod is the number of teaching periods a day has.
const MaxPeriod = 10

// Slot is one teaching period of the weekly timetable.
type Slot struct {
	Day    Weekday `json:"day"`
	Period int     `json:"period"`
}

// NewSlot validates a day and a period (1..MaxPeriod).
func NewSlot(field, day string, period int) (Slot, error) {
	d, err := WeekdayFromString(field+".day", day)
	if err != nil {
		return Slot{}, err
	}
	if period < 1 || period > MaxPeriod {
		return Slot{}, Invalid(field+".period", "must be between 1 and %d, got %d", MaxPeriod, period)
	}
	return Slot{Day: d, Period: period}, nil
}

func (s Slot) String() string { return fmt.Sprintf("%s/%d", s.Day, s.Period) }
func (s Slot) IsZero() bool   { return s.Day == "" }

// TimeOfDay is a teacher's preferred part of the day: periods 1–4 are
// morning, 5–7 afternoon, 8 and later late.
type TimeOfDay string

const (
	Morning   TimeOfDay = "morning"
	Afternoon TimeOfDay = "afternoon"
	Late      TimeOfDay = "late"
)

// TimeOfDayFromString parses a preferred time slot.
func TimeOfDayFromString(field, s string) (TimeOfDay, error) {
	switch t := TimeOfDay(strings.ToLower(strings.TrimSpace(s))); t {
	case Morning, Afternoon, Late:
		return t, nil
	}
	return "", Invalid(field, "%q is not a time of day (morning, afternoon, late)", s)
}

// TimeOfDayOf returns the part of the day a period falls in.
func TimeOfDayOf(period int) TimeOfDay {
	switch {
	case period <= 4:
		return Morning
	case period <= 7:
		return Afternoon
	default:
		return Late
	}
}

// Date is a calendar date without time or zone, "2006-01-02" in JSON.
type Date struct{ t time.Time }

const dateLayout = "2006-01-02"

// ParseDate validates a "YYYY-MM-DD" date.
func ParseDate(field, s string) (Date, error) {
	t, err := time.Parse(dateLayout, strings.TrimSpace(s))
	if err != nil {
		return Date{}, Invalid(field, "%q is not a date (YYYY-MM-DD)", s)
	}
	return Date{t: t}, nil
}

// DateOf is the calendar date of an instant in UTC.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}
func (d Date) IsZero() bool                 { return d.t.IsZero() }
func (d Date) Before(o Date) bool           { return d.t.Before(o.t) }
func (d Date) After(o Date) bool            { return d.t.After(o.t) }
func (d Date) AddDays(n int) Date           { return Date{t: d.t.AddDate(0, 0, n)} }
func (d Date) Time() time.Time              { return d.t }
func (d Date) Equal(o Date) bool            { return d.t.Equal(o.t) }
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	t, err := time.Parse(dateLayout, string(b))
	if err != nil {
		return err
	}
	d.t = t
	return nil
}

// Grade is an assessment result on the 0–100 scale.
type Grade float64

// ParseGrade validates a grade (0..100, at most two decimals are kept).
func ParseGrade(field string, g float64) (Grade, error) {
	if g != g || g < 0 || g > 100 { // g != g: NaN
		return 0, Invalid(field, "must be between 0 and 100, got %v", g)
	}
	return Grade(g), nil
}

// PassMark is the grade below which a subject counts as failed.
const PassMark Grade = 50

// RequireID checks that an identifier is present (IDs are minted outside
// the domain; the domain only insists on having one).
func RequireID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return Invalid(field, "is required")
	}
	return nil
}

// RequireText checks a free-text field: present and at most max bytes.
func RequireText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Invalid(field, "is required")
	case len(s) > max:
		return "", Invalid(field, "is longer than %d characters", max)
	}
	return s, nil
}
