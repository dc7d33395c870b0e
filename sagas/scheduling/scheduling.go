// Package scheduling assigns a teacher's lessons to the free periods of a
// school's weekly timetable, for the teacher_onboarding workflow.
//
// It is pure and deterministic (no I/O, no clock, no randomness): the same
// input always gives the same plan, whatever the order of its lists. The
// assignment is an exact min-cost flow, not a heuristic: it places as many
// lessons as the rules allow; when some cannot be placed it shares the
// shortage as evenly as possible between class subjects; then it puts as
// many lessons as possible in the teacher's preferred periods, spreads each
// class subject over the days, and prefers earlier periods. Every lesson it
// cannot place is explained by the rule that blocks it.
package scheduling

import (
	"cmp"
	"slices"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Teacher is the teacher being scheduled.
type Teacher struct {
	ID       string
	Subjects []domain.Subject
	// PreferredTimeSlots empty means no preference: every period is
	// preferred (domain.TeacherPreferences.Prefers).
	PreferredTimeSlots []domain.TimeOfDay
	// MaxClassesPerDay counts every lesson of the teacher on a day,
	// lessons already in the timetable included.
	MaxClassesPerDay int
}

// Class is a class of the school with its subjects and their teachers.
type Class struct {
	ID string
	// Name is what people call the class ("5B"); the ID stands in when empty.
	Name     string
	Subjects []domain.ClassSubject
}

// Input is everything Plan reads.
type Input struct {
	Teacher Teacher
	// Classes are the school's classes. Class IDs are expected to be
	// unique; a repeated ID is ignored after its first occurrence (in
	// name order).
	Classes []Class
	// Existing is the school's current timetable. New lessons never clash
	// with it, and the teacher's lessons in it count towards the daily
	// maximum.
	Existing []domain.TimetableEntry
	// Days are the school days (order and repeats do not matter; values
	// that are not weekdays are ignored).
	Days []domain.Weekday
	// PeriodsPerDay is how many periods of each day may be used, capped
	// at domain.MaxPeriod.
	PeriodsPerDay int
	// LessonsPerWeek is how many lessons a week each class subject needs.
	LessonsPerWeek int
}

// Result is a plan: new lessons to add to the existing timetable, and why.
type Result struct {
	// Entries are the new lessons only, in week order (then class ID). The
	// timetable to publish is Existing followed by Entries.
	Entries []domain.TimetableEntry
	// Unfilled has one item per class subject with lessons left unplaced.
	Unfilled []Unfilled
	// Explanation says, in sentences for a school administrator, what was
	// placed and why (rules, preferences, spread, method).
	Explanation []string
	// Summary is one short line (under 200 bytes) fit for a timetable
	// version's reason or a workflow step.
	Summary string
	// Demand lists every class subject the teacher was considered for,
	// with its figures, in the order of the explanations.
	Demand []Demand
	// Preferred counts the Entries in the teacher's preferred periods.
	Preferred int
}

// Unfilled is the part of a class subject's weekly lessons Plan could not
// place, with the reason.
type Unfilled struct {
	ClassID   string
	ClassName string
	Subject   domain.Subject
	Lessons   int
	Reason    string
}

// Demand is one class subject of the teacher's subjects with no other
// teacher, and what Plan did for it.
type Demand struct {
	ClassID   string
	ClassName string
	Subject   domain.Subject
	// Unassigned: the class subject has no teacher yet. The plan gives
	// its lessons to this teacher; the workflow may assign the teacher to
	// it (commands.AssignSubjectTeacher) so the class records it too.
	Unassigned bool
	Existing   int // lessons of the class subject already in the timetable
	Needed     int // LessonsPerWeek − Existing, never negative
	Placed     int
	Preferred  int // of Placed, in preferred periods
}

// Unfilled lessons of the class subject (Needed − Placed).
func (d Demand) Unfilled() int { return d.Needed - d.Placed }

type classSlot struct {
	class string
	slot  domain.Slot
}

type classSubject struct {
	class   string
	subject domain.Subject
}

// week is the normalized frame of a plan: the days and periods it may use,
// the rules, and the state of the timetable (existing lessons first, the
// plan's own lessons added as it goes).
type week struct {
	days        []domain.Weekday
	periods     int
	max         int
	prefs       domain.TeacherPreferences
	teacherBusy map[domain.Slot]bool
	classBusy   map[classSlot]bool
	load        map[domain.Weekday]int // teacher's lessons per day
	subjectLoad map[classSubjectDay]int
}

type classSubjectDay struct {
	class   string
	subject domain.Subject
	day     domain.Weekday
}

func (w *week) prefers(period int) bool { return w.prefs.Prefers(period) }

func (w *week) add(e domain.TimetableEntry) {
	w.teacherBusy[e.Slot] = true
	w.classBusy[classSlot{e.ClassID, e.Slot}] = true
	w.load[e.Slot.Day]++
	w.subjectLoad[classSubjectDay{e.ClassID, e.Subject, e.Slot.Day}]++
}

// weekOrder is the order days are shown and tried in.
var weekOrder = []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday,
	domain.Friday, domain.Saturday, domain.Sunday}

func newWeek(in Input) *week {
	w := &week{
		periods:     min(max(in.PeriodsPerDay, 0), domain.MaxPeriod),
		max:         in.Teacher.MaxClassesPerDay,
		prefs:       domain.TeacherPreferences{PreferredTimeSlots: in.Teacher.PreferredTimeSlots},
		teacherBusy: map[domain.Slot]bool{},
		classBusy:   map[classSlot]bool{},
		load:        map[domain.Weekday]int{},
		subjectLoad: map[classSubjectDay]int{},
	}
	for _, d := range weekOrder {
		if slices.Contains(in.Days, d) {
			w.days = append(w.days, d)
		}
	}
	for _, e := range in.Existing {
		w.classBusy[classSlot{e.ClassID, e.Slot}] = true
		w.subjectLoad[classSubjectDay{e.ClassID, e.Subject, e.Slot.Day}]++
		if e.TeacherID == in.Teacher.ID {
			w.teacherBusy[e.Slot] = true
			w.load[e.Slot.Day]++
		}
	}
	return w
}

// demand lists the class subjects to schedule in a stable order (class
// name, class ID, subject) and those of the teacher's subjects left to
// another teacher.
func demand(in Input) (ds []Demand, others []Demand) {
	existing := map[classSubject]int{}
	for _, e := range in.Existing {
		existing[classSubject{e.ClassID, e.Subject}]++
	}
	classes := slices.Clone(in.Classes)
	slices.SortStableFunc(classes, func(a, b Class) int {
		return cmp.Or(cmp.Compare(className(a), className(b)), cmp.Compare(a.ID, b.ID))
	})
	seen := map[string]bool{}
	for _, c := range classes {
		if c.ID == "" || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		subs := slices.Clone(c.Subjects)
		slices.SortStableFunc(subs, func(a, b domain.ClassSubject) int { return cmp.Compare(a.Subject, b.Subject) })
		subs = slices.CompactFunc(subs, func(a, b domain.ClassSubject) bool { return a.Subject == b.Subject })
		for _, s := range subs {
			if !slices.Contains(in.Teacher.Subjects, s.Subject) {
				continue
			}
			d := Demand{ClassID: c.ID, ClassName: className(c), Subject: s.Subject,
				Unassigned: s.TeacherID == "", Existing: existing[classSubject{c.ID, s.Subject}]}
			if s.TeacherID != "" && s.TeacherID != in.Teacher.ID {
				others = append(others, d)
				continue
			}
			d.Needed = max(in.LessonsPerWeek-d.Existing, 0)
			ds = append(ds, d)
		}
	}
	return ds, others
}

func className(c Class) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Plan computes the new lessons of in.Teacher. See the package comment for
// what it optimizes; Result.Explanation says it in words.
func Plan(in Input) Result {
	w := newWeek(in)
	ds, others := demand(in)
	entries := assign(w, ds)
	slices.SortFunc(entries, func(a, b domain.TimetableEntry) int {
		return cmp.Or(domain.CompareSlots(a.Slot, b.Slot), cmp.Compare(a.ClassID, b.ClassID))
	})
	for i := range entries {
		entries[i].TeacherID = in.Teacher.ID
		w.add(entries[i])
	}
	res := Result{Entries: entries, Demand: ds}
	for _, e := range entries {
		i := slices.IndexFunc(ds, func(d Demand) bool { return d.ClassID == e.ClassID && d.Subject == e.Subject })
		ds[i].Placed++
		if w.prefers(e.Slot.Period) {
			ds[i].Preferred++
			res.Preferred++
		}
	}
	for _, d := range ds {
		if n := d.Unfilled(); n > 0 {
			res.Unfilled = append(res.Unfilled, Unfilled{ClassID: d.ClassID, ClassName: d.ClassName,
				Subject: d.Subject, Lessons: n, Reason: unfilledReason(w, in, d)})
		}
	}
	res.Explanation = explain(w, in, res, others)
	res.Summary = summary(res)
	return res
}
