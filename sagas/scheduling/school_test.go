package scheduling_test

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/scheduling"
)

// A random school for the property tests: its Input and what
// domain.CheckTimetable needs to know of its teachers and classes.
type school struct {
	in       scheduling.Input
	teachers map[string]domain.TeacherInfo
	classes  map[string]domain.ClassInfo
}

const (
	schoolID   = "s1"
	newTeacher = "t-new"
)

var (
	subjectPool = []domain.Subject{"mathematics", "physics", "chemistry", "biology", "english", "history", "art"}
	allDays     = []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday, domain.Friday,
		domain.Saturday, domain.Sunday}
	allTimes = []domain.TimeOfDay{domain.Morning, domain.Afternoon, domain.Late}
)

func pick[T any](r *rand.Rand, from []T, n int) []T {
	out := slices.Clone(from)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(n, len(out))]
}

// schoolShape bounds a random school.
type schoolShape struct {
	maxDays, maxPeriods, maxClasses, maxTeachers, maxSubjects, maxLessons int
	existingDensity                                                       float64 // share of class slots attempted
}

var everyday = schoolShape{maxDays: 7, maxPeriods: 10, maxClasses: 10, maxTeachers: 6, maxSubjects: 4, maxLessons: 6,
	existingDensity: 0.6}

func randomSchool(r *rand.Rand, sh schoolShape) school {
	sc := school{teachers: map[string]domain.TeacherInfo{}, classes: map[string]domain.ClassInfo{}}
	in := &sc.in
	// Days: usually a contiguous week, sometimes odd sets, repeats, out of order.
	switch r.IntN(10) {
	case 0:
		in.Days = pick(r, allDays, r.IntN(sh.maxDays+1))
	case 1:
		in.Days = pick(r, allDays, 1+r.IntN(sh.maxDays))
		in.Days = append(in.Days, in.Days[0])
	default:
		n := 1 + r.IntN(sh.maxDays)
		in.Days = slices.Clone(allDays[:n])
	}
	in.PeriodsPerDay = r.IntN(sh.maxPeriods + 1)
	if r.IntN(20) == 0 {
		in.PeriodsPerDay = domain.MaxPeriod + 2 // clamped by Plan
	}
	periods := min(in.PeriodsPerDay, domain.MaxPeriod)
	in.LessonsPerWeek = r.IntN(sh.maxLessons + 1)

	in.Teacher = scheduling.Teacher{ID: newTeacher, Subjects: pick(r, subjectPool, r.IntN(sh.maxSubjects+1)),
		PreferredTimeSlots: pick(r, allTimes, r.IntN(4)), MaxClassesPerDay: 1 + r.IntN(domain.MaxPeriod)}
	sc.teachers[newTeacher] = domain.TeacherInfo{SchoolID: schoolID, Subjects: in.Teacher.Subjects,
		MaxClassesPerDay: in.Teacher.MaxClassesPerDay, Active: true}
	var others []string
	for i := range 1 + r.IntN(sh.maxTeachers) {
		id := fmt.Sprintf("t-%d", i)
		others = append(others, id)
		sc.teachers[id] = domain.TeacherInfo{SchoolID: schoolID, Subjects: pick(r, subjectPool, 1+r.IntN(3)),
			MaxClassesPerDay: 1 + r.IntN(domain.MaxPeriod), Active: true}
	}
	teachersOf := func(s domain.Subject) []string {
		var ids []string
		for _, id := range append([]string{newTeacher}, others...) {
			if sc.teachers[id].Teaches(s) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	for i := range 1 + r.IntN(sh.maxClasses) {
		c := scheduling.Class{ID: fmt.Sprintf("c-%02d", i), Name: fmt.Sprintf("%d%c", 1+r.IntN(12), 'A'+rune(r.IntN(4)))}
		if r.IntN(10) == 0 {
			c.Name = "" // the ID stands in
		}
		var info domain.ClassInfo
		info.SchoolID = schoolID
		for _, s := range pick(r, subjectPool, 1+r.IntN(5)) {
			cs := domain.ClassSubject{Subject: s}
			if ts := teachersOf(s); len(ts) > 0 && r.IntN(3) > 0 {
				cs.TeacherID = ts[r.IntN(len(ts))]
			}
			c.Subjects = append(c.Subjects, cs)
			info.Subjects = append(info.Subjects, s)
		}
		in.Classes = append(in.Classes, c)
		sc.classes[c.ID] = info
	}
	// An existing timetable that passes the domain's rules.
	if periods > 0 && len(in.Days) > 0 {
		type ts struct {
			t string
			s domain.Slot
		}
		type cls struct {
			c string
			s domain.Slot
		}
		teacherBusy, classBusy := map[ts]bool{}, map[cls]bool{}
		load := map[string]map[domain.Weekday]int{}
		attempts := int(float64(len(in.Classes)*len(in.Days)*periods) * sh.existingDensity * r.Float64())
		for range attempts {
			c := in.Classes[r.IntN(len(in.Classes))]
			cs := c.Subjects[r.IntN(len(c.Subjects))]
			teacher := cs.TeacherID
			if teacher == "" || r.IntN(4) == 0 {
				ts := teachersOf(cs.Subject)
				if len(ts) == 0 {
					continue
				}
				teacher = ts[r.IntN(len(ts))]
			}
			day := in.Days[r.IntN(len(in.Days))]
			if r.IntN(10) == 0 {
				day = allDays[r.IntN(len(allDays))] // a lesson on a day the plan does not use
			}
			s := domain.Slot{Day: day, Period: 1 + r.IntN(periods)}
			if teacherBusy[ts{teacher, s}] || classBusy[cls{c.ID, s}] {
				continue
			}
			if load[teacher] == nil {
				load[teacher] = map[domain.Weekday]int{}
			}
			if load[teacher][day] >= sc.teachers[teacher].MaxClassesPerDay {
				continue
			}
			teacherBusy[ts{teacher, s}], classBusy[cls{c.ID, s}] = true, true
			load[teacher][day]++
			in.Existing = append(in.Existing, domain.TimetableEntry{ClassID: c.ID, Subject: cs.Subject, TeacherID: teacher, Slot: s})
		}
	}
	return sc
}

// shuffled returns the same school with every list in another order.
func shuffled(r *rand.Rand, in scheduling.Input) scheduling.Input {
	out := in
	out.Teacher.Subjects = pick(r, in.Teacher.Subjects, len(in.Teacher.Subjects))
	out.Teacher.PreferredTimeSlots = pick(r, in.Teacher.PreferredTimeSlots, len(in.Teacher.PreferredTimeSlots))
	out.Classes = pick(r, in.Classes, len(in.Classes))
	for i := range out.Classes {
		out.Classes[i].Subjects = pick(r, out.Classes[i].Subjects, len(out.Classes[i].Subjects))
	}
	out.Existing = pick(r, in.Existing, len(in.Existing))
	out.Days = pick(r, in.Days, len(in.Days))
	return out
}
