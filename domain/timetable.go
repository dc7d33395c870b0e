package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Timetable is a school's weekly timetable: which teacher teaches which
// class which subject in which slot (day × period). There is one per school
// and every publication replaces it whole as a new version, so readers
// always see a consistent week.
type Timetable struct {
	Root
	version     int
	changeKind  ChangeKind
	entries     []TimetableEntry
	publishedAt time.Time
	reason      string
}

// Sentinels of the timetable aggregate, matched with errors.Is.
var (
	ErrTeacherClash      = errors.New("teacher is in two places in one slot")
	ErrClassClash        = errors.New("class has two entries in one slot")
	ErrTeacherOverloaded = errors.New("teacher is over their classes per day")
	ErrNoEntries         = errors.New("timetable has no entries")
)

// MaxTimetableEntries bounds one publication (a large school's week).
const MaxTimetableEntries = 10000

// ChangeKind says how disruptive a new timetable version is: a minor one
// moves a few lessons, a major one reshapes the week (sagas notify more
// widely). Stored values: append-only.
type ChangeKind string

const (
	ChangeMinor ChangeKind = "minor"
	ChangeMajor ChangeKind = "major"
)

// ChangeKindFromString parses a change kind.
func ChangeKindFromString(field, s string) (ChangeKind, error) {
	switch k := ChangeKind(strings.ToLower(strings.TrimSpace(s))); k {
	case ChangeMinor, ChangeMajor:
		return k, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not a change kind (minor, major)", s)
}

func (k ChangeKind) IsZero() bool { return k == "" }

// TimetableEntry is one lesson of the week.
type TimetableEntry struct {
	ClassID   string  `json:"classId"`
	Subject   Subject `json:"subject"`
	TeacherID string  `json:"teacherId"`
	Slot      Slot    `json:"slot"`
}

// TimetableEntryInput is the unvalidated form of TimetableEntry.
type TimetableEntryInput struct {
	ClassID   string
	Subject   string
	TeacherID string
	Day       string
	Period    int
}

// TimetablePublished: a new version of a school's timetable took effect.
// Entries is the whole week, not a difference.
type TimetablePublished struct {
	SchoolID   string           `json:"schoolId"`
	Version    int              `json:"version"`
	ChangeKind ChangeKind       `json:"changeKind"`
	Entries    []TimetableEntry `json:"entries"`
	Reason     string           `json:"reason"`
	At         time.Time        `json:"at"`
}

var TimetablePublishedType = register[TimetablePublished](ChannelTimetable)

func (TimetablePublished) EventType() string { return "timetable.published.v1" }

// NewTimetable returns the blank timetable of a school, for loading its
// stream; its ID is the school's. It validates nothing: Publish does.
func NewTimetable(schoolID string) *Timetable { return &Timetable{Root: Root{id: schoolID}} }

// StreamID is "timetable-<schoolId>".
func (tt *Timetable) StreamID() string { return "timetable-" + tt.id }

// Publish makes entries the school's timetable, as version CurrentVersion()+1.
// teachers and classes hold what is known of every teacher and class the
// entries name (the command layer loads them). See CheckTimetable for the
// rules; preferred time slots are wishes for the scheduler, not rules.
// reason is optional free text.
func (tt *Timetable) Publish(changeKind string, entries []TimetableEntryInput, teachers map[string]TeacherInfo,
	classes map[string]ClassInfo, reason string, at time.Time) error {
	if err := RequireID("schoolId", tt.id); err != nil {
		return err
	}
	kind, err := ChangeKindFromString("changeKind", changeKind)
	if err != nil {
		return err
	}
	reason, err = optionalText("reason", reason, maxReasonLen)
	if err != nil {
		return err
	}
	parsed, err := ParseTimetableEntries("entries", entries)
	if err != nil {
		return err
	}
	if err := CheckTimetable("entries", tt.id, parsed, teachers, classes); err != nil {
		return err
	}
	raise(tt, TimetablePublished{SchoolID: tt.id, Version: tt.version + 1, ChangeKind: kind,
		Entries: parsed, Reason: reason, At: at.UTC()})
	return nil
}

// ParseTimetableEntries validates the form of each entry (IDs present,
// subject and slot valid); field names the list ("entries" gives
// "entries[3].period").
func ParseTimetableEntries(field string, in []TimetableEntryInput) ([]TimetableEntry, error) {
	switch {
	case len(in) == 0:
		return nil, ruleError(KindInvalid, field, ErrNoEntries, "needs at least one entry")
	case len(in) > MaxTimetableEntries:
		return nil, Invalid(field, "has %d entries, at most %d are allowed", len(in), MaxTimetableEntries)
	}
	out := make([]TimetableEntry, len(in))
	for i, e := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := RequireID(f+".classId", e.ClassID); err != nil {
			return nil, err
		}
		sub, err := ParseSubject(f+".subject", e.Subject)
		if err != nil {
			return nil, err
		}
		if err := RequireID(f+".teacherId", e.TeacherID); err != nil {
			return nil, err
		}
		slot, err := NewSlot(f+".slot", e.Day, e.Period)
		if err != nil {
			return nil, err
		}
		out[i] = TimetableEntry{ClassID: e.ClassID, Subject: sub, TeacherID: e.TeacherID, Slot: slot}
	}
	return out, nil
}

// CheckTimetable checks a whole week of entries of schoolID against what
// is known of its teachers and classes; field names the list in errors
// ("entries" gives "entries[3].slot"). It is pure, so a scheduler can try
// candidate timetables with it. The rules, each reported on the first
// entry that breaks it:
//   - the class is a known class of the school and is taught the subject;
//   - the teacher is a known, active teacher of the school and teaches the
//     subject;
//   - a class has at most one entry per slot (ErrClassClash);
//   - a teacher is in at most one place per slot (ErrTeacherClash);
//   - a teacher teaches at most MaxClassesPerDay entries a day
//     (ErrTeacherOverloaded).
//
// Classes or teachers of another school count as unknown.
func CheckTimetable(field, schoolID string, entries []TimetableEntry, teachers map[string]TeacherInfo, classes map[string]ClassInfo) error {
	type teacherSlot struct {
		teacher string
		slot    Slot
	}
	type classSlot struct {
		class string
		slot  Slot
	}
	type teacherDay struct {
		teacher string
		day     Weekday
	}
	byTeacher := map[teacherSlot]int{}
	byClass := map[classSlot]int{}
	perDay := map[teacherDay]int{}
	for i, e := range entries {
		f := fmt.Sprintf("%s[%d]", field, i)
		c, ok := classes[e.ClassID]
		switch {
		case !ok || c.SchoolID != schoolID:
			return ruleError(KindInvalid, f+".classId", ErrUnknownClass, "class %s is not a class of this school", e.ClassID)
		case !c.Has(e.Subject):
			return ruleError(KindInvalid, f+".subject", ErrSubjectNotInClass, "class %s is not taught %s", e.ClassID, e.Subject)
		}
		if err := checkSubjectTeacher(f+".teacherId", schoolID, e.Subject, e.TeacherID, teachers); err != nil {
			return err
		}
		if j, clash := byClass[classSlot{e.ClassID, e.Slot}]; clash {
			return ruleError(KindInvalid, f+".slot", ErrClassClash,
				"class %s already has %s in %s (%s[%d])", e.ClassID, entries[j].Subject, e.Slot, field, j)
		}
		byClass[classSlot{e.ClassID, e.Slot}] = i
		if j, clash := byTeacher[teacherSlot{e.TeacherID, e.Slot}]; clash {
			return ruleError(KindInvalid, f+".slot", ErrTeacherClash,
				"teacher %s already teaches class %s in %s (%s[%d])", e.TeacherID, entries[j].ClassID, e.Slot, field, j)
		}
		byTeacher[teacherSlot{e.TeacherID, e.Slot}] = i
		td := teacherDay{e.TeacherID, e.Slot.Day}
		perDay[td]++
		if limit := teachers[e.TeacherID].MaxClassesPerDay; perDay[td] > limit {
			return ruleError(KindInvalid, f+".slot", ErrTeacherOverloaded,
				"teacher %s would teach %d classes on %s, at most %d", e.TeacherID, perDay[td], e.Slot.Day, limit)
		}
	}
	return nil
}

func (tt *Timetable) apply(e Event) {
	switch e := e.(type) {
	case TimetablePublished:
		tt.version, tt.changeKind, tt.reason, tt.publishedAt = e.Version, e.ChangeKind, e.Reason, e.At
		tt.entries = slices.Clone(e.Entries)
	}
}

// SchoolID is the school of the timetable (also its ID).
func (tt *Timetable) SchoolID() string { return tt.id }

// Exists reports whether a timetable has been published.
func (tt *Timetable) Exists() bool { return tt.version > 0 }

// CurrentVersion is the version of the timetable in effect, 0 before the
// first publication.
func (tt *Timetable) CurrentVersion() int       { return tt.version }
func (tt *Timetable) ChangeKind() ChangeKind    { return tt.changeKind }
func (tt *Timetable) PublishedAt() time.Time    { return tt.publishedAt }
func (tt *Timetable) Reason() string            { return tt.reason }
func (tt *Timetable) Entries() []TimetableEntry { return slices.Clone(tt.entries) }

// EntriesInput returns the current entries in input form, so a command can
// publish a changed copy (add or drop lessons) as the next version.
func (tt *Timetable) EntriesInput() []TimetableEntryInput {
	out := make([]TimetableEntryInput, len(tt.entries))
	for i, e := range tt.entries {
		out[i] = TimetableEntryInput{ClassID: e.ClassID, Subject: string(e.Subject), TeacherID: e.TeacherID,
			Day: string(e.Slot.Day), Period: e.Slot.Period}
	}
	return out
}

// TeacherBusy reports whether the teacher teaches in slot.
func (tt *Timetable) TeacherBusy(teacherID string, slot Slot) bool {
	return slices.ContainsFunc(tt.entries, func(e TimetableEntry) bool { return e.TeacherID == teacherID && e.Slot == slot })
}

// ClassBusy reports whether the class has a lesson in slot.
func (tt *Timetable) ClassBusy(classID string, slot Slot) bool {
	return slices.ContainsFunc(tt.entries, func(e TimetableEntry) bool { return e.ClassID == classID && e.Slot == slot })
}

// TeacherSlots lists the slots the teacher teaches in, in week order.
func (tt *Timetable) TeacherSlots(teacherID string) []Slot {
	var slots []Slot
	for _, e := range tt.entries {
		if e.TeacherID == teacherID {
			slots = append(slots, e.Slot)
		}
	}
	slices.SortFunc(slots, CompareSlots)
	return slots
}

// TeacherLoad is the number of lessons the teacher has on day.
func (tt *Timetable) TeacherLoad(teacherID string, day Weekday) int {
	n := 0
	for _, e := range tt.entries {
		if e.TeacherID == teacherID && e.Slot.Day == day {
			n++
		}
	}
	return n
}

// ClassTeachers lists the distinct teachers of a class, sorted.
func (tt *Timetable) ClassTeachers(classID string) []string {
	var ids []string
	for _, e := range tt.entries {
		if e.ClassID == classID && !slices.Contains(ids, e.TeacherID) {
			ids = append(ids, e.TeacherID)
		}
	}
	slices.Sort(ids)
	return ids
}

// CompareSlots orders slots by day of the week (Monday first), then period.
func CompareSlots(a, b Slot) int {
	if d := weekdayRank(a.Day) - weekdayRank(b.Day); d != 0 {
		return d
	}
	return a.Period - b.Period
}

func weekdayRank(d Weekday) int {
	return slices.Index([]Weekday{Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday}, d)
}
