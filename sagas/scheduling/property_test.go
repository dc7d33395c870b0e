package scheduling_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/scheduling"
)

// The properties are checked against the test's own reading of the input
// (not the package's internals): the week after the plan, as a school
// admin would look at it.

type classSubject struct {
	class   string
	subject domain.Subject
}

// final is the timetable after the plan, for the new teacher.
type final struct {
	in          scheduling.Input
	days        []domain.Weekday
	periods     int
	prefs       domain.TeacherPreferences
	teacherBusy map[domain.Slot]bool
	classBusy   map[string]map[domain.Slot]bool
	load        map[domain.Weekday]int
	count       map[classSubject]map[domain.Weekday]int // lessons of a class subject per day, existing included
}

func newFinal(in scheduling.Input, entries []domain.TimetableEntry) final {
	f := final{in: in, periods: min(in.PeriodsPerDay, domain.MaxPeriod),
		prefs:       domain.TeacherPreferences{PreferredTimeSlots: in.Teacher.PreferredTimeSlots},
		teacherBusy: map[domain.Slot]bool{}, classBusy: map[string]map[domain.Slot]bool{},
		load: map[domain.Weekday]int{}, count: map[classSubject]map[domain.Weekday]int{}}
	for _, d := range allDays {
		if slices.Contains(in.Days, d) {
			f.days = append(f.days, d)
		}
	}
	for _, e := range append(slices.Clone(in.Existing), entries...) {
		if f.classBusy[e.ClassID] == nil {
			f.classBusy[e.ClassID] = map[domain.Slot]bool{}
		}
		f.classBusy[e.ClassID][e.Slot] = true
		cs := classSubject{e.ClassID, e.Subject}
		if f.count[cs] == nil {
			f.count[cs] = map[domain.Weekday]int{}
		}
		f.count[cs][e.Slot.Day]++
		if e.TeacherID == in.Teacher.ID {
			f.teacherBusy[e.Slot] = true
			f.load[e.Slot.Day]++
		}
	}
	return f
}

// free: the teacher and the class are both free in s (the day's limit
// aside).
func (f final) free(class string, s domain.Slot) bool {
	return !f.teacherBusy[s] && !f.classBusy[class][s]
}

func (f final) underLimit(d domain.Weekday) bool { return f.load[d] < f.in.Teacher.MaxClassesPerDay }

func (f final) slots() []domain.Slot {
	var out []domain.Slot
	for _, d := range f.days {
		for p := 1; p <= f.periods; p++ {
			out = append(out, domain.Slot{Day: d, Period: p})
		}
	}
	return out
}

// expectedDemand is the contract's demand, computed independently.
func expectedDemand(in scheduling.Input) map[classSubject]int {
	existing := map[classSubject]int{}
	for _, e := range in.Existing {
		existing[classSubject{e.ClassID, e.Subject}]++
	}
	out := map[classSubject]int{}
	seen := map[string]bool{}
	for _, c := range in.Classes {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		for _, s := range c.Subjects {
			if slices.Contains(in.Teacher.Subjects, s.Subject) && (s.TeacherID == "" || s.TeacherID == in.Teacher.ID) {
				out[classSubject{c.ID, s.Subject}] = max(in.LessonsPerWeek-existing[classSubject{c.ID, s.Subject}], 0)
			}
		}
	}
	return out
}

// checkPlan returns every property res breaks.
func checkPlan(sc school, res scheduling.Result) []string {
	in := sc.in
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	f := newFinal(in, res.Entries)
	demand := expectedDemand(in)

	// Entries: the teacher's, for a demanded class subject, in the frame.
	placed := map[classSubject]int{}
	preferred := 0
	for _, e := range res.Entries {
		cs := classSubject{e.ClassID, e.Subject}
		placed[cs]++
		if e.TeacherID != in.Teacher.ID {
			fail("entry %v is not the teacher's", e)
		}
		if _, ok := demand[cs]; !ok {
			fail("entry %v is for a class subject not in the demand", e)
		}
		if !slices.Contains(f.days, e.Slot.Day) || e.Slot.Period < 1 || e.Slot.Period > f.periods {
			fail("entry %v is outside the school week", e)
		}
		if f.prefs.Prefers(e.Slot.Period) {
			preferred++
		}
	}
	if preferred != res.Preferred {
		fail("Preferred = %d, counted %d", res.Preferred, preferred)
	}
	// No clash, no limit exceeded: the domain's own check of the whole week.
	all := append(slices.Clone(in.Existing), res.Entries...)
	if err := domain.CheckTimetable("entries", schoolID, all, sc.teachers, sc.classes); err != nil {
		fail("existing + new fails CheckTimetable: %v", err)
	}

	// Placed + unfilled = demand; every unfilled lesson explained.
	unfilled := map[classSubject]scheduling.Unfilled{}
	for _, u := range res.Unfilled {
		cs := classSubject{u.ClassID, u.Subject}
		if _, dup := unfilled[cs]; dup {
			fail("%v unfilled twice", cs)
		}
		unfilled[cs] = u
		name := u.ClassName + " " + string(u.Subject)
		if !strings.HasPrefix(u.Reason, name+": ") || strings.Contains(u.Reason, "fault") ||
			!strings.Contains(u.Reason, fmt.Sprintf("%d of %d weekly lessons unfilled", u.Lessons, in.LessonsPerWeek)) {
			fail("unfilled %v: reason %q", cs, u.Reason)
		}
	}
	sumDemand, sumPlaced, sumUnfilled := 0, 0, 0
	for cs, need := range demand {
		sumDemand += need
		sumPlaced += placed[cs]
		sumUnfilled += unfilled[cs].Lessons
		if placed[cs]+unfilled[cs].Lessons != need {
			fail("%v: placed %d + unfilled %d != needed %d", cs, placed[cs], unfilled[cs].Lessons, need)
		}
		if need > placed[cs] && unfilled[cs].Reason == "" {
			fail("%v: %d unfilled lessons without a reason", cs, need-placed[cs])
		}
	}
	if sumPlaced+sumUnfilled != sumDemand || len(res.Entries) != sumPlaced {
		fail("placed %d + unfilled %d != demand %d", sumPlaced, sumUnfilled, sumDemand)
	}
	if len(res.Demand) != len(demand) {
		fail("Demand has %d items, expected %d", len(res.Demand), len(demand))
	}
	for _, d := range res.Demand {
		cs := classSubject{d.ClassID, d.Subject}
		if d.Needed != demand[cs] || d.Placed != placed[cs] || d.Unfilled() != unfilled[cs].Lessons {
			fail("Demand %+v disagrees (needed %d, placed %d)", d, demand[cs], placed[cs])
		}
	}

	// Maximal: a class subject with unfilled lessons has no usable slot left.
	for cs := range unfilled {
		for _, s := range f.slots() {
			if f.free(cs.class, s) && f.underLimit(s.Day) {
				fail("%v has unfilled lessons but %v is free for both and under the limit", cs, s)
			}
		}
	}
	// Preferences: a lesson outside the preferred periods could not have
	// moved to a preferred period free for its class and the teacher, on
	// its own day (the load stays the same) or on a day under the limit.
	for _, e := range res.Entries {
		if f.prefs.Prefers(e.Slot.Period) {
			continue
		}
		for _, s := range f.slots() {
			if f.prefs.Prefers(s.Period) && f.free(e.ClassID, s) && (s.Day == e.Slot.Day || f.underLimit(s.Day)) {
				fail("%v is not preferred but preferred %v was free and usable", e, s)
			}
		}
	}
	// Spread: a new lesson on a day with another lesson of its class subject
	// could not have moved to a day with at least two fewer of them, into a
	// period free for both, under the limit and at least as preferred.
	for _, e := range res.Entries {
		cs := classSubject{e.ClassID, e.Subject}
		n := f.count[cs][e.Slot.Day]
		if n < 2 {
			continue
		}
		for _, s := range f.slots() {
			asPreferred := f.prefs.Prefers(s.Period) || !f.prefs.Prefers(e.Slot.Period)
			if s.Day != e.Slot.Day && f.count[cs][s.Day] <= n-2 && asPreferred && f.free(e.ClassID, s) && f.underLimit(s.Day) {
				fail("%v shares its day with %d lessons of its class subject but %v was usable", e, n-1, s)
			}
		}
	}
	// Explanations: present and filled in.
	if len(res.Explanation) == 0 || res.Summary == "" || len(res.Summary) > 200 {
		fail("explanation %q, summary %q", res.Explanation, res.Summary)
	}
	for _, l := range res.Explanation {
		if strings.TrimSpace(l) == "" || strings.Contains(l, "fault") {
			fail("explanation line %q", l)
		}
	}
	return bad
}

func TestPlanPropertiesRandomSchools(t *testing.T) {
	t.Parallel()
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	for seed := range uint64(iterations) {
		r := rand.New(rand.NewPCG(seed, 0x5c4ed))
		sc := randomSchool(r, everyday)
		res := scheduling.Plan(sc.in)
		if bad := checkPlan(sc, res); len(bad) > 0 {
			t.Fatalf("seed %d: %d properties broken:\n%s\ninput: %+v\nplan: %+v", seed, len(bad), strings.Join(bad, "\n"), sc.in, res)
		}
		// Same input, same plan; and the order of the input's lists does not matter.
		if again := scheduling.Plan(sc.in); !reflect.DeepEqual(again, res) {
			t.Fatalf("seed %d: two plans of one input differ", seed)
		}
		if other := scheduling.Plan(shuffled(r, sc.in)); !reflect.DeepEqual(other, res) {
			t.Fatalf("seed %d: plan depends on the order of the input:\n%+v\n%+v", seed, res, other)
		}
	}
}

// Crowded schools: few periods, many classes, a dense timetable, so that
// the limits and clashes bind often.
func TestPlanPropertiesCrowdedSchools(t *testing.T) {
	t.Parallel()
	crowded := schoolShape{maxDays: 5, maxPeriods: 5, maxClasses: 12, maxTeachers: 4, maxSubjects: 3, maxLessons: 6,
		existingDensity: 1.5}
	for seed := range uint64(1500) {
		r := rand.New(rand.NewPCG(seed, 0xc70d))
		sc := randomSchool(r, crowded)
		if bad := checkPlan(sc, scheduling.Plan(sc.in)); len(bad) > 0 {
			t.Fatalf("seed %d:\n%s", seed, strings.Join(bad, "\n"))
		}
	}
}

// objective is what the plan optimizes, in order: lessons placed (more is
// better), unfilled² summed over class subjects, lessons outside the
// preferred periods, lessons sharing a day with lessons of their class
// subject, and periods (earlier is better).
type objective struct{ placed, unfilledSq, outside, crowding, periods int }

func (o objective) better(p objective) bool {
	switch {
	case o.placed != p.placed:
		return o.placed > p.placed
	case o.unfilledSq != p.unfilledSq:
		return o.unfilledSq < p.unfilledSq
	case o.outside != p.outside:
		return o.outside < p.outside
	case o.crowding != p.crowding:
		return o.crowding < p.crowding
	}
	return o.periods < p.periods
}

func score(in scheduling.Input, demand map[classSubject]int, entries []domain.TimetableEntry) objective {
	prefs := domain.TeacherPreferences{PreferredTimeSlots: in.Teacher.PreferredTimeSlots}
	var o objective
	placed := map[classSubject]int{}
	perDay := map[classSubject]map[domain.Weekday]int{}
	for _, e := range in.Existing {
		cs := classSubject{e.ClassID, e.Subject}
		if perDay[cs] == nil {
			perDay[cs] = map[domain.Weekday]int{}
		}
		perDay[cs][e.Slot.Day]++
	}
	for _, e := range entries {
		cs := classSubject{e.ClassID, e.Subject}
		placed[cs]++
		o.placed++
		if !prefs.Prefers(e.Slot.Period) {
			o.outside++
		}
		if perDay[cs] == nil {
			perDay[cs] = map[domain.Weekday]int{}
		}
		o.crowding += perDay[cs][e.Slot.Day] // the k-th lesson of a day costs k-1
		perDay[cs][e.Slot.Day]++
		o.periods += e.Slot.Period - 1
	}
	for cs, need := range demand {
		o.unfilledSq += (need - placed[cs]) * (need - placed[cs])
	}
	return o
}

// bestByBruteForce tries every assignment of the teacher's free slots to
// class subjects (or none) and returns the best objective.
func bestByBruteForce(in scheduling.Input) objective {
	f := newFinal(in, nil)
	demand := expectedDemand(in)
	var css []classSubject
	for cs, need := range demand {
		if need > 0 {
			css = append(css, cs)
		}
	}
	slices.SortFunc(css, func(a, b classSubject) int {
		return strings.Compare(a.class+string(a.subject), b.class+string(b.subject))
	})
	var slots []domain.Slot
	for _, s := range f.slots() {
		if !f.teacherBusy[s] {
			slots = append(slots, s)
		}
	}
	best := score(in, demand, nil)
	var entries []domain.TimetableEntry
	placed := map[classSubject]int{}
	load := map[domain.Weekday]int{}
	var walk func(i int)
	walk = func(i int) {
		if i == len(slots) {
			if o := score(in, demand, entries); o.better(best) {
				best = o
			}
			return
		}
		walk(i + 1) // leave slots[i] empty
		s := slots[i]
		if f.load[s.Day]+load[s.Day] >= in.Teacher.MaxClassesPerDay {
			return
		}
		for _, cs := range css {
			if placed[cs] >= demand[cs] || f.classBusy[cs.class][s] {
				continue
			}
			placed[cs]++
			load[s.Day]++
			entries = append(entries, domain.TimetableEntry{ClassID: cs.class, Subject: cs.subject, TeacherID: in.Teacher.ID, Slot: s})
			walk(i + 1)
			entries = entries[:len(entries)-1]
			load[s.Day]--
			placed[cs]--
		}
	}
	walk(0)
	return best
}

// On schools small enough to try every assignment, the plan is optimal
// for the whole objective, not only locally.
func TestPlanIsOptimalOnSmallSchools(t *testing.T) {
	t.Parallel()
	tiny := schoolShape{maxDays: 2, maxPeriods: 3, maxClasses: 3, maxTeachers: 2, maxSubjects: 2, maxLessons: 3,
		existingDensity: 0.8}
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 0x7e57))
		sc := randomSchool(r, tiny)
		res := scheduling.Plan(sc.in)
		got := score(sc.in, expectedDemand(sc.in), res.Entries)
		if want := bestByBruteForce(sc.in); want.better(got) {
			t.Fatalf("seed %d: plan scores %+v, brute force finds %+v\ninput %+v\nplan %+v", seed, got, want, sc.in, res.Entries)
		}
	}
}
