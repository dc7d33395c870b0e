package scheduling

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The texts are for a school administrator: class names, subjects, days
// and the rule that decided, with the figures. Each claim they make holds
// for the final plan by construction (the property tests check them).

// maxListed bounds the items a sentence lists before "and N more".
const maxListed = 8

// unfilledReason says why no more lessons of d fit, from the final state
// of the week: since the plan is a maximum flow, every period of every
// day is blocked for the class by one of the rules.
func unfilledReason(w *week, in Input, d Demand) string {
	var done []string
	if d.Existing > 0 {
		done = append(done, fmt.Sprintf("%d already timetabled", d.Existing))
	}
	done = append(done, fmt.Sprintf("%d placed now", d.Placed))
	head := fmt.Sprintf("%s %s: %d of %d weekly lessons unfilled (%s)", d.ClassName, d.Subject, d.Unfilled(),
		in.LessonsPerWeek, strings.Join(done, ", "))
	switch {
	case len(w.days) == 0:
		return head + ": no school days are set for the timetable"
	case w.periods == 0:
		return head + ": the school day has no periods to use"
	case w.max <= 0:
		return fmt.Sprintf("%s: the teacher's maximum of lessons a day (maxClassesPerDay) is %d", head, w.max)
	}
	var limit, teacherFull, classFull, blocked, fault []domain.Weekday
	for _, day := range w.days {
		if w.load[day] >= w.max {
			limit = append(limit, day)
			continue
		}
		teacherFree, classFree, open := 0, 0, 0
		for p := 1; p <= w.periods; p++ {
			s := domain.Slot{Day: day, Period: p}
			cb := w.classBusy[classSlot{d.ClassID, s}]
			if !w.teacherBusy[s] {
				teacherFree++
			}
			if !cb {
				classFree++
			}
			if !w.teacherBusy[s] && !cb {
				open++
			}
		}
		switch {
		case open > 0:
			fault = append(fault, day) // cannot happen with a maximum flow; said rather than hidden
		case teacherFree == 0:
			teacherFull = append(teacherFull, day)
		case classFree == 0:
			classFull = append(classFull, day)
		default:
			blocked = append(blocked, day)
		}
	}
	var parts []string
	on := func(days []domain.Weekday) string {
		if len(days) == len(w.days) && len(days) > 1 {
			return "on every school day"
		}
		return "on " + listDays(days)
	}
	if len(limit) > 0 {
		parts = append(parts, fmt.Sprintf("%s the teacher has reached the maximum of %d lessons a day (maxClassesPerDay)", on(limit), w.max))
	}
	if len(teacherFull) > 0 {
		parts = append(parts, fmt.Sprintf("%s the teacher teaches in every period", on(teacherFull)))
	}
	if len(classFull) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s already has a lesson in every period", on(classFull), d.ClassName))
	}
	if len(blocked) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s already has a lesson in each period the teacher is free", on(blocked), d.ClassName))
	}
	if len(fault) > 0 {
		parts = append(parts, fmt.Sprintf("%s a period looks free but was not used (a scheduler fault, please report it)", on(fault)))
	}
	return head + ": " + strings.Join(parts, "; ")
}

func explain(w *week, in Input, res Result, others []Demand) []string {
	var out []string
	// The frame: days, periods, the daily maximum.
	teacherExisting := 0
	for _, e := range in.Existing {
		if e.TeacherID == in.Teacher.ID {
			teacherExisting++
		}
	}
	switch {
	case len(w.days) == 0:
		out = append(out, "Teacher's week: no school days are set, so no lesson can be placed.")
	case w.periods == 0:
		out = append(out, "Teacher's week: the school day has no periods to use, so no lesson can be placed.")
	default:
		s := fmt.Sprintf("Teacher's week: %s, periods 1–%d, at most %d lessons a day (maxClassesPerDay)",
			dayRange(w.days), w.periods, w.max)
		switch {
		case teacherExisting == 1:
			s += "; 1 lesson of the teacher is already in the timetable and counts towards it"
		case teacherExisting > 1:
			s += fmt.Sprintf("; %d lessons of the teacher are already in the timetable and count towards it", teacherExisting)
		}
		out = append(out, s+".")
	}

	// The demand.
	needed, placed := 0, len(res.Entries)
	var needing, full []string
	for _, d := range res.Demand {
		needed += d.Needed
		if d.Needed > 0 {
			needing = append(needing, fmt.Sprintf("%s %s %d", d.ClassName, d.Subject, d.Needed))
		} else {
			full = append(full, d.ClassName+" "+string(d.Subject))
		}
	}
	switch {
	case len(in.Teacher.Subjects) == 0:
		out = append(out, "Nothing to schedule: the teacher has no subjects.")
	case len(res.Demand) == 0 && len(others) == 0:
		out = append(out, fmt.Sprintf("Nothing to schedule: no class is taught %s.", listSubjects(in.Teacher.Subjects, "or")))
	case len(res.Demand) == 0:
		out = append(out, fmt.Sprintf("Nothing to schedule: every class taught %s has another teacher.", listSubjects(in.Teacher.Subjects, "or")))
	case needed == 0:
		out = append(out, fmt.Sprintf("Nothing to schedule: every class subject of the teacher already has %d lessons a week (%s).",
			in.LessonsPerWeek, list(full)))
	default:
		out = append(out, fmt.Sprintf("Needed: %d lessons for %d class subjects at %d a week, less those already timetabled: %s.",
			needed, len(needing), in.LessonsPerWeek, list(needing)))
	}
	if len(others) > 0 {
		names := make([]string, len(others))
		for i, d := range others {
			names[i] = d.ClassName + " " + string(d.Subject)
		}
		out = append(out, fmt.Sprintf("Left to their own teachers: %s.", list(names)))
	}
	if needed == 0 {
		return out
	}
	switch {
	case placed == needed:
		out = append(out, fmt.Sprintf("Placed all %d lessons.", placed))
	case placed == 0:
		out = append(out, fmt.Sprintf("Placed none of the %d lessons.", needed))
	case weekFull(w):
		out = append(out, fmt.Sprintf("Placed %d of %d lessons; %d unfilled: the teacher's week is full "+
			"(every school day has reached the daily maximum or has no free period left).", placed, needed, needed-placed))
	default:
		out = append(out, fmt.Sprintf("Placed %d of %d lessons; %d unfilled.", placed, needed, needed-placed))
	}
	if placed == 0 {
		return append(out, method)
	}

	// Preferences.
	prefs := describePreferences(in.Teacher.PreferredTimeSlots)
	var outside []string
	for _, e := range res.Entries {
		if !w.prefers(e.Slot.Period) {
			outside = append(outside, fmt.Sprintf("%s %s %s period %d", classNameOf(res.Demand, e.ClassID), e.Subject, dayName(e.Slot.Day), e.Slot.Period))
		}
	}
	anyPreferred := slices.ContainsFunc(periods(w.periods), w.prefers)
	switch {
	case len(in.Teacher.PreferredTimeSlots) == 0:
		out = append(out, "The teacher has no preferred time slots, so every period counts as preferred.")
	case !anyPreferred:
		out = append(out, fmt.Sprintf("None of the preferred time slots (%s) falls within the school day's %d periods, so all lessons are outside them.",
			prefs, w.periods))
	case len(outside) == 0:
		out = append(out, fmt.Sprintf("All %d lessons are in the preferred time slots (%s).", placed, prefs))
	default:
		others := fmt.Sprintf("the other %d (%s) are", len(outside), list(outside))
		if len(outside) == 1 {
			others = fmt.Sprintf("the other one (%s) is", outside[0])
		}
		out = append(out, fmt.Sprintf("%d of %d lessons are in the preferred time slots (%s); %s outside them because no "+
			"preferred period was free for both the class and the teacher on the same day or on a day under the daily maximum.",
			res.Preferred, placed, prefs, others))
	}

	// Spread over the days.
	var doubled []string
	for _, d := range res.Demand {
		for _, day := range w.days {
			n := w.subjectLoad[classSubjectDay{d.ClassID, d.Subject, day}]
			if n > 1 && slices.ContainsFunc(res.Entries, func(e domain.TimetableEntry) bool {
				return e.ClassID == d.ClassID && e.Subject == d.Subject && e.Slot.Day == day
			}) {
				doubled = append(doubled, fmt.Sprintf("%s %s %d on %s", d.ClassName, d.Subject, n, dayName(day)))
			}
		}
	}
	if len(doubled) == 0 {
		out = append(out, "No new lesson shares a day with another lesson of its class subject.")
	} else {
		out = append(out, fmt.Sprintf("Some class subjects have more than one lesson on a day (%s): no arrangement of the free "+
			"periods spreads them more evenly without placing fewer lessons, sharing a shortage less evenly or giving up preferred periods.",
			list(doubled)))
	}
	return append(out, method)
}

// weekFull reports whether the teacher can take no lesson on any day,
// whatever the classes.
func weekFull(w *week) bool {
	for _, day := range w.days {
		if w.load[day] >= w.max {
			continue
		}
		for p := 1; p <= w.periods; p++ {
			if !w.teacherBusy[domain.Slot{Day: day, Period: p}] {
				return false
			}
		}
	}
	return true
}

const method = "Method: an exact min-cost flow over the free periods (deterministic, no machine learning). It places as many " +
	"lessons as the rules allow; when not all fit, it shares the shortage as evenly as possible between class subjects; then it " +
	"puts as many lessons as possible in preferred periods, spreads each class subject over the days, and prefers earlier periods."

func summary(res Result) string {
	needed := 0
	for _, d := range res.Demand {
		needed += d.Needed
	}
	placed := len(res.Entries)
	switch {
	case needed == 0:
		return "nothing to schedule"
	case placed == needed:
		return fmt.Sprintf("placed all %d lessons (%d in preferred periods)", placed, res.Preferred)
	}
	return fmt.Sprintf("placed %d of %d lessons (%d in preferred periods), %d unfilled", placed, needed, res.Preferred, needed-placed)
}

func classNameOf(ds []Demand, classID string) string {
	if i := slices.IndexFunc(ds, func(d Demand) bool { return d.ClassID == classID }); i >= 0 {
		return ds[i].ClassName
	}
	return classID
}

func periods(n int) []int {
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i + 1
	}
	return ps
}

// describePreferences gives "morning: periods 1–4, late: periods 8–10",
// the ranges taken from domain.TimeOfDayOf.
func describePreferences(slots []domain.TimeOfDay) string {
	var parts []string
	for _, t := range []domain.TimeOfDay{domain.Morning, domain.Afternoon, domain.Late} {
		if !slices.Contains(slots, t) {
			continue
		}
		first, last := 0, 0
		for p := 1; p <= domain.MaxPeriod; p++ {
			if domain.TimeOfDayOf(p) == t {
				if first == 0 {
					first = p
				}
				last = p
			}
		}
		parts = append(parts, fmt.Sprintf("%s: periods %d–%d", t, first, last))
	}
	return strings.Join(parts, ", ")
}

func dayName(d domain.Weekday) string {
	if d == "" {
		return ""
	}
	return strings.ToUpper(string(d[:1])) + string(d[1:])
}

func listDays(days []domain.Weekday) string {
	names := make([]string, len(days))
	for i, d := range days {
		names[i] = dayName(d)
	}
	return joinAnd(names, "and")
}

// dayRange gives "Monday–Friday" for three or more consecutive days.
func dayRange(days []domain.Weekday) string {
	first := slices.Index(weekOrder, days[0])
	if len(days) >= 3 && slices.Equal(days, weekOrder[first:first+len(days)]) {
		return dayName(days[0]) + "–" + dayName(days[len(days)-1])
	}
	return listDays(days)
}

func listSubjects(subjects []domain.Subject, conj string) string {
	names := make([]string, len(subjects))
	for i, s := range subjects {
		names[i] = string(s)
	}
	slices.Sort(names)
	return joinAnd(names, conj)
}

func joinAnd(items []string, conj string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

// list joins items with commas, at most maxListed of them.
func list(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}
