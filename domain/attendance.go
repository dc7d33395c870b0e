package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AttendanceRegister is the attendance of one class in one period of one
// day (stream attendance-<registerId>, see AttendanceRegisterID). It is
// taken once with Record and corrected afterwards with Amend.
type AttendanceRegister struct {
	Root
	schoolID string
	classID  string
	date     Date
	period   int
	entries  []AttendanceEntry // in the order first recorded
	index    map[string]int    // student ID -> index in entries
}

// AttendanceStatus is a student's presence in a period. Stored values:
// append-only, never rename.
type AttendanceStatus string

const (
	AttendancePresent AttendanceStatus = "present"
	AttendanceAbsent  AttendanceStatus = "absent"
	AttendanceLate    AttendanceStatus = "late"
	AttendanceExcused AttendanceStatus = "excused"
)

// AttendanceStatusFromString parses an attendance status.
func AttendanceStatusFromString(field, s string) (AttendanceStatus, error) {
	switch st := AttendanceStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case AttendancePresent, AttendanceAbsent, AttendanceLate, AttendanceExcused:
		return st, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not an attendance status (present, absent, late, excused)", s)
}

func (s AttendanceStatus) IsZero() bool   { return s == "" }
func (s AttendanceStatus) String() string { return string(s) }

// AttendanceEntry is one student's line in a register.
type AttendanceEntry struct {
	StudentID string           `json:"studentId"`
	Status    AttendanceStatus `json:"status"`
	Note      string           `json:"note,omitempty"`
}

// Sentinels of the attendance register.
var (
	// ErrNotOnRoster: a student is not on the roster of the class (or exam).
	ErrNotOnRoster = errors.New("student is not on the roster")
	// ErrRegisterAlreadyTaken: Record on a register that was taken; use Amend.
	ErrRegisterAlreadyTaken = errors.New("attendance register already taken")
	// ErrRegisterNotFound: Amend on a register that was never taken.
	ErrRegisterNotFound = errors.New("attendance register not found")
)

const maxAttendanceNote = 500

// AttendanceRegisterID is the deterministic ID of the register of a class
// for a date and period, e.g. "<classId>-2026-11-28-p3": one register per
// slot, so two teachers taking it at once collide on the stream.
func AttendanceRegisterID(classID string, date Date, period int) string {
	return fmt.Sprintf("%s-%s-p%d", classID, date, period)
}

// NewAttendanceRegister returns the blank register with the given ID (from
// AttendanceRegisterID), to load its stream into. It validates nothing:
// Record checks that the ID matches the class, date and period.
func NewAttendanceRegister(registerID string) *AttendanceRegister {
	return &AttendanceRegister{Root: Root{id: registerID}}
}

// StreamID is "attendance-<registerId>".
func (r *AttendanceRegister) StreamID() string { return "attendance-" + r.id }

// AttendanceEntryInput is one line of an attendance command.
type AttendanceEntryInput struct {
	StudentID string
	Status    string // present|absent|late|excused
	Note      string // optional
}

// AttendanceInput is the input of AttendanceRegister.Record. Roster is the
// class roster at the time, loaded by the command layer.
type AttendanceInput struct {
	SchoolID   string
	ClassID    string
	Date       Date
	Period     int
	Entries    []AttendanceEntryInput
	Roster     []string
	RecordedBy string
}

// Record takes the register: who was present, absent, late or excused.
// Only students on the roster, each at most once; the date may not be in
// the future.
func (r *AttendanceRegister) Record(in AttendanceInput, at time.Time) error {
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	if err := RequireID("classId", in.ClassID); err != nil {
		return err
	}
	switch {
	case in.Date.IsZero():
		return Invalid("date", "is required")
	case in.Date.After(latestDateAt(at)):
		return Invalid("date", "%s is in the future", in.Date)
	}
	if in.Period < 1 || in.Period > MaxPeriod {
		return Invalid("period", "must be between 1 and %d, got %d", MaxPeriod, in.Period)
	}
	if want := AttendanceRegisterID(in.ClassID, in.Date, in.Period); r.id != want {
		return Invalid("", "register %q is not the register of class %s on %s, period %d", r.id, in.ClassID, in.Date, in.Period)
	}
	roster := idSet(in.Roster)
	entries, err := attendanceEntries(in.Entries, func(id string) bool { return roster[id] })
	if err != nil {
		return err
	}
	if err := RequireID("recordedBy", in.RecordedBy); err != nil {
		return err
	}
	if r.Taken() {
		return ruleError(KindConflict, "", ErrRegisterAlreadyTaken,
			"the register of class %s on %s, period %d is already taken; amend it instead", r.classID, r.date, r.period)
	}
	raise(r, AttendanceRecorded{
		RegisterID: r.id,
		SchoolID:   in.SchoolID,
		ClassID:    in.ClassID,
		Date:       in.Date,
		Period:     in.Period,
		Entries:    entries,
		RecordedBy: in.RecordedBy,
		At:         at.UTC(),
	})
	return nil
}

// AttendanceAmendment is the input of AttendanceRegister.Amend: the lines
// to correct or add. Roster is the class roster now; a student already in
// the register may be corrected even if they have left the class since.
type AttendanceAmendment struct {
	Entries   []AttendanceEntryInput
	Roster    []string
	AmendedBy string
}

// Amend corrects a taken register. Only lines that change are recorded;
// an amendment that changes nothing raises no event and succeeds.
func (r *AttendanceRegister) Amend(in AttendanceAmendment, at time.Time) error {
	roster := idSet(in.Roster)
	entries, err := attendanceEntries(in.Entries, func(id string) bool {
		_, known := r.index[id]
		return known || roster[id]
	})
	if err != nil {
		return err
	}
	if err := RequireID("amendedBy", in.AmendedBy); err != nil {
		return err
	}
	if !r.Taken() {
		return ruleError(KindNotFound, "", ErrRegisterNotFound, "register %s has not been taken", r.id)
	}
	var changed []AttendanceEntry
	for _, e := range entries {
		if i, ok := r.index[e.StudentID]; ok && r.entries[i] == e {
			continue
		}
		changed = append(changed, e)
	}
	if len(changed) == 0 {
		return nil
	}
	raise(r, AttendanceAmended{
		RegisterID: r.id,
		SchoolID:   r.schoolID,
		ClassID:    r.classID,
		Date:       r.date,
		Period:     r.period,
		Entries:    changed,
		AmendedBy:  in.AmendedBy,
		At:         at.UTC(),
	})
	return nil
}

// attendanceEntries validates the lines of a command; allowed says whether
// a student may appear in the register.
func attendanceEntries(in []AttendanceEntryInput, allowed func(studentID string) bool) ([]AttendanceEntry, error) {
	if len(in) == 0 {
		return nil, Invalid("entries", "needs at least one entry")
	}
	out := make([]AttendanceEntry, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, e := range in {
		idField := fmt.Sprintf("entries[%d].studentId", i)
		if err := RequireID(idField, e.StudentID); err != nil {
			return nil, err
		}
		status, err := AttendanceStatusFromString(fmt.Sprintf("entries[%d].status", i), e.Status)
		if err != nil {
			return nil, err
		}
		note, err := optionalText(fmt.Sprintf("entries[%d].note", i), e.Note, maxAttendanceNote)
		if err != nil {
			return nil, err
		}
		if seen[e.StudentID] {
			return nil, Invalid(idField, "student %s is listed twice", e.StudentID)
		}
		seen[e.StudentID] = true
		if !allowed(e.StudentID) {
			return nil, ruleError(KindInvalid, idField, ErrNotOnRoster, "student %s is not on the class roster", e.StudentID)
		}
		out = append(out, AttendanceEntry{StudentID: e.StudentID, Status: status, Note: note})
	}
	return out, nil
}

func (r *AttendanceRegister) apply(e Event) {
	switch e := e.(type) {
	case AttendanceRecorded:
		r.schoolID, r.classID, r.date, r.period = e.SchoolID, e.ClassID, e.Date, e.Period
		r.entries, r.index = nil, map[string]int{}
		r.put(e.Entries)
	case AttendanceAmended:
		r.put(e.Entries)
	}
}

// put sets lines, replacing a student's earlier line.
func (r *AttendanceRegister) put(entries []AttendanceEntry) {
	if r.index == nil {
		r.index = map[string]int{}
	}
	for _, e := range entries {
		if i, ok := r.index[e.StudentID]; ok {
			r.entries[i] = e
			continue
		}
		r.index[e.StudentID] = len(r.entries)
		r.entries = append(r.entries, e)
	}
}

// Taken reports whether the register has been recorded.
func (r *AttendanceRegister) Taken() bool { return r.schoolID != "" }

func (r *AttendanceRegister) SchoolID() string { return r.schoolID }
func (r *AttendanceRegister) ClassID() string  { return r.classID }
func (r *AttendanceRegister) Date() Date       { return r.date }
func (r *AttendanceRegister) Period() int      { return r.period }

// Entries returns a copy of the register's lines, amendments applied, in
// the order students were first recorded.
func (r *AttendanceRegister) Entries() []AttendanceEntry { return slices.Clone(r.entries) }

// Entry returns one student's line.
func (r *AttendanceRegister) Entry(studentID string) (AttendanceEntry, bool) {
	i, ok := r.index[studentID]
	if !ok {
		return AttendanceEntry{}, false
	}
	return r.entries[i], true
}

// Events of the attendance register.
var (
	AttendanceRecordedType = register[AttendanceRecorded](ChannelAttendance)
	AttendanceAmendedType  = register[AttendanceAmended](ChannelAttendance)
)

// AttendanceRecorded: a class register was taken for a date and period.
type AttendanceRecorded struct {
	RegisterID string            `json:"registerId"`
	SchoolID   string            `json:"schoolId"`
	ClassID    string            `json:"classId"`
	Date       Date              `json:"date"`
	Period     int               `json:"period"`
	Entries    []AttendanceEntry `json:"entries"`
	RecordedBy string            `json:"recordedBy"`
	At         time.Time         `json:"at"`
}

func (AttendanceRecorded) EventType() string { return "attendance.recorded.v1" }

// AttendanceAmended: lines of a taken register were corrected or added;
// Entries holds only the changed lines, each replacing the student's line.
type AttendanceAmended struct {
	RegisterID string            `json:"registerId"`
	SchoolID   string            `json:"schoolId"`
	ClassID    string            `json:"classId"`
	Date       Date              `json:"date"`
	Period     int               `json:"period"`
	Entries    []AttendanceEntry `json:"entries"`
	AmendedBy  string            `json:"amendedBy"`
	At         time.Time         `json:"at"`
}

func (AttendanceAmended) EventType() string { return "attendance.amended.v1" }
