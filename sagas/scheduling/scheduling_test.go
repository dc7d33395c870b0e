package scheduling_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/scheduling"
)

const (
	maths   domain.Subject = "mathematics"
	physics domain.Subject = "physics"
	art     domain.Subject = "art"
)

var weekdays = []domain.Weekday{domain.Monday, domain.Tuesday, domain.Wednesday, domain.Thursday, domain.Friday}

func slot(d domain.Weekday, p int) domain.Slot { return domain.Slot{Day: d, Period: p} }

func teacher(max int, subjects ...domain.Subject) scheduling.Teacher {
	return scheduling.Teacher{ID: "t1", Subjects: subjects, MaxClassesPerDay: max}
}

func class(id, name string, subjects ...domain.ClassSubject) scheduling.Class {
	return scheduling.Class{ID: id, Name: name, Subjects: subjects}
}

func taught(s domain.Subject, teacherID string) domain.ClassSubject {
	return domain.ClassSubject{Subject: s, TeacherID: teacherID}
}

func lesson(classID string, s domain.Subject, teacherID string, at domain.Slot) domain.TimetableEntry {
	return domain.TimetableEntry{ClassID: classID, Subject: s, TeacherID: teacherID, Slot: at}
}

// fiveB is a one-class school taught mathematics (no teacher yet) and art.
func fiveB() scheduling.Input {
	return scheduling.Input{
		Teacher:        teacher(5, maths),
		Classes:        []scheduling.Class{class("c5b", "5B", taught(maths, ""), taught(art, "t2"))},
		Days:           weekdays,
		PeriodsPerDay:  6,
		LessonsPerWeek: 4,
	}
}

func slotsOf(es []domain.TimetableEntry) []domain.Slot {
	out := make([]domain.Slot, len(es))
	for i, e := range es {
		out[i] = e.Slot
	}
	return out
}

func reasons(res scheduling.Result) []string {
	var out []string
	for _, u := range res.Unfilled {
		out = append(out, u.Reason)
	}
	return out
}

func TestPlanSchedulesOnlyTheTeachersSubjects(t *testing.T) {
	t.Parallel()
	res := scheduling.Plan(fiveB())
	if len(res.Entries) != 4 {
		t.Fatalf("entries %v, want 4 mathematics lessons", res.Entries)
	}
	for _, e := range res.Entries {
		if e.Subject != maths || e.ClassID != "c5b" || e.TeacherID != "t1" {
			t.Errorf("entry %v: only 5B mathematics by t1 expected", e)
		}
	}
	if len(res.Demand) != 1 || res.Demand[0].Subject != maths || !res.Demand[0].Unassigned {
		t.Errorf("demand %+v, want 5B mathematics, unassigned", res.Demand)
	}
}

func TestPlanSkipsClassSubjectsOfOtherTeachers(t *testing.T) {
	t.Parallel()
	in := fiveB()
	in.Classes = []scheduling.Class{
		class("c5a", "5A", taught(maths, "t9")),
		class("c5b", "5B", taught(maths, "")),
		class("c5c", "5C", taught(maths, "t1")),
	}
	res := scheduling.Plan(in)
	got := map[string]int{}
	for _, e := range res.Entries {
		got[e.ClassID]++
	}
	if want := map[string]int{"c5b": 4, "c5c": 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("lessons per class %v, want %v", got, want)
	}
	want := []scheduling.Demand{
		{ClassID: "c5b", ClassName: "5B", Subject: maths, Unassigned: true, Needed: 4, Placed: 4, Preferred: 4},
		{ClassID: "c5c", ClassName: "5C", Subject: maths, Needed: 4, Placed: 4, Preferred: 4},
	}
	if !reflect.DeepEqual(res.Demand, want) {
		t.Errorf("demand\n%+v, want\n%+v", res.Demand, want)
	}
	if !slices.Contains(res.Explanation, "Left to their own teachers: 5A mathematics.") {
		t.Errorf("explanation %q does not name 5A mathematics as another teacher's", res.Explanation)
	}
}

func TestPlanFillsUpToLessonsPerWeek(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		existing int // lessons of 5B mathematics already timetabled (by t2)
		want     int
	}{
		{"none yet", 0, 4},
		{"one already", 1, 3},
		{"all already", 4, 0},
		{"more than enough", 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := fiveB()
			for i := range tc.existing {
				in.Existing = append(in.Existing, lesson("c5b", maths, "t2", slot(domain.Monday, i+1)))
			}
			res := scheduling.Plan(in)
			if len(res.Entries) != tc.want || res.Demand[0].Needed != tc.want || res.Demand[0].Existing != tc.existing {
				t.Errorf("entries %d, demand %+v; want %d new lessons", len(res.Entries), res.Demand[0], tc.want)
			}
			if tc.want == 0 {
				if res.Summary != "nothing to schedule" || !slices.Contains(res.Explanation,
					"Nothing to schedule: every class subject of the teacher already has 4 lessons a week (5B mathematics).") {
					t.Errorf("summary %q, explanation %q", res.Summary, res.Explanation)
				}
			}
		})
	}
}

func TestPlanNeverClashes(t *testing.T) {
	t.Parallel()
	in := fiveB()
	in.Teacher.Subjects = []domain.Subject{maths, art}
	in.Days = []domain.Weekday{domain.Monday}
	in.PeriodsPerDay = 3
	in.Existing = []domain.TimetableEntry{
		lesson("c6a", art, "t1", slot(domain.Monday, 1)), // the teacher is busy
		lesson("c5b", art, "t2", slot(domain.Monday, 2)), // the class is busy
	}
	res := scheduling.Plan(in)
	if got, want := slotsOf(res.Entries), []domain.Slot{slot(domain.Monday, 3)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("slots %v, want %v", got, want)
	}
	want := []string{"5B mathematics: 3 of 4 weekly lessons unfilled (1 placed now): " +
		"on Monday 5B already has a lesson in each period the teacher is free"}
	if got := reasons(res); !reflect.DeepEqual(got, want) {
		t.Errorf("reasons\n%q, want\n%q", got, want)
	}
}

func TestPlanCountsExistingLessonsTowardsTheDailyMaximum(t *testing.T) {
	t.Parallel()
	in := fiveB()
	in.Teacher.MaxClassesPerDay = 2
	in.Teacher.Subjects = []domain.Subject{maths, art}
	in.Days = []domain.Weekday{domain.Monday, domain.Tuesday}
	in.Existing = []domain.TimetableEntry{
		lesson("c6a", art, "t1", slot(domain.Monday, 1)),
		lesson("c6a", art, "t1", slot(domain.Monday, 2)),
	}
	res := scheduling.Plan(in)
	for _, e := range res.Entries {
		if e.Slot.Day != domain.Tuesday {
			t.Errorf("lesson %v on a day the teacher already has 2 lessons", e)
		}
	}
	if len(res.Entries) != 2 {
		t.Errorf("entries %v, want 2 on Tuesday", res.Entries)
	}
	want := []string{"5B mathematics: 2 of 4 weekly lessons unfilled (2 placed now): " +
		"on every school day the teacher has reached the maximum of 2 lessons a day (maxClassesPerDay)"}
	if got := reasons(res); !reflect.DeepEqual(got, want) {
		t.Errorf("reasons\n%q, want\n%q", got, want)
	}
}

func TestPlanPutsLessonsInPreferredPeriodsFirst(t *testing.T) {
	t.Parallel()
	t.Run("room in preferred periods", func(t *testing.T) {
		t.Parallel()
		in := fiveB()
		in.Teacher.PreferredTimeSlots = []domain.TimeOfDay{domain.Afternoon}
		res := scheduling.Plan(in)
		want := []domain.Slot{slot(domain.Monday, 5), slot(domain.Tuesday, 5), slot(domain.Wednesday, 5), slot(domain.Thursday, 5)}
		if got := slotsOf(res.Entries); !reflect.DeepEqual(got, want) || res.Preferred != 4 {
			t.Errorf("slots %v (preferred %d), want %v", got, res.Preferred, want)
		}
	})
	t.Run("overflow to other periods, explained", func(t *testing.T) {
		t.Parallel()
		in := fiveB()
		in.Teacher.PreferredTimeSlots = []domain.TimeOfDay{domain.Afternoon}
		in.Days = []domain.Weekday{domain.Monday}
		in.PeriodsPerDay = 8
		res := scheduling.Plan(in)
		want := []domain.Slot{slot(domain.Monday, 1), slot(domain.Monday, 5), slot(domain.Monday, 6), slot(domain.Monday, 7)}
		if got := slotsOf(res.Entries); !reflect.DeepEqual(got, want) || res.Preferred != 3 {
			t.Errorf("slots %v (preferred %d), want %v", got, res.Preferred, want)
		}
		line := "3 of 4 lessons are in the preferred time slots (afternoon: periods 5–7); the other one " +
			"(5B mathematics Monday period 1) is outside them because no preferred period was free for both the class " +
			"and the teacher on the same day or on a day under the daily maximum."
		if !slices.Contains(res.Explanation, line) {
			t.Errorf("explanation %q\nlacks %q", res.Explanation, line)
		}
	})
	t.Run("no preference means every period is preferred", func(t *testing.T) {
		t.Parallel()
		res := scheduling.Plan(fiveB())
		if res.Preferred != len(res.Entries) ||
			!slices.Contains(res.Explanation, "The teacher has no preferred time slots, so every period counts as preferred.") {
			t.Errorf("preferred %d of %d, explanation %q", res.Preferred, len(res.Entries), res.Explanation)
		}
	})
	t.Run("preferences outside the school day", func(t *testing.T) {
		t.Parallel()
		in := fiveB()
		in.Teacher.PreferredTimeSlots = []domain.TimeOfDay{domain.Late}
		res := scheduling.Plan(in)
		line := "None of the preferred time slots (late: periods 8–10) falls within the school day's 6 periods, so all lessons are outside them."
		if res.Preferred != 0 || len(res.Entries) != 4 || !slices.Contains(res.Explanation, line) {
			t.Errorf("preferred %d of %d, explanation %q", res.Preferred, len(res.Entries), res.Explanation)
		}
	})
}

func TestPlanSpreadsAClassSubjectOverTheDays(t *testing.T) {
	t.Parallel()
	t.Run("one lesson a day", func(t *testing.T) {
		t.Parallel()
		res := scheduling.Plan(fiveB())
		days := map[domain.Weekday]int{}
		for _, e := range res.Entries {
			days[e.Slot.Day]++
		}
		if len(days) != 4 || !slices.Contains(res.Explanation, "No new lesson shares a day with another lesson of its class subject.") {
			t.Errorf("days %v, explanation %q", days, res.Explanation)
		}
	})
	t.Run("days with the subject already go last", func(t *testing.T) {
		t.Parallel()
		in := fiveB()
		in.Existing = []domain.TimetableEntry{
			lesson("c5b", maths, "t2", slot(domain.Monday, 1)),
			lesson("c5b", maths, "t2", slot(domain.Tuesday, 1)),
		}
		res := scheduling.Plan(in)
		want := []domain.Slot{slot(domain.Wednesday, 1), slot(domain.Thursday, 1)}
		if got := slotsOf(res.Entries); !reflect.DeepEqual(got, want) {
			t.Errorf("slots %v, want %v", got, want)
		}
	})
	t.Run("one day only", func(t *testing.T) {
		t.Parallel()
		in := fiveB()
		in.Days = []domain.Weekday{domain.Monday}
		in.LessonsPerWeek = 3
		res := scheduling.Plan(in)
		line := "Some class subjects have more than one lesson on a day (5B mathematics 3 on Monday): no arrangement of the " +
			"free periods spreads them more evenly without placing fewer lessons, sharing a shortage less evenly or giving up preferred periods."
		if len(res.Entries) != 3 || !slices.Contains(res.Explanation, line) {
			t.Errorf("entries %v, explanation %q", res.Entries, res.Explanation)
		}
	})
}

func TestPlanSharesAShortageEvenly(t *testing.T) {
	t.Parallel()
	in := fiveB()
	in.Classes = []scheduling.Class{class("c5a", "5A", taught(maths, "")), class("c5b", "5B", taught(maths, ""))}
	in.Days = []domain.Weekday{domain.Monday}
	in.PeriodsPerDay = 4
	in.Teacher.MaxClassesPerDay = 4
	res := scheduling.Plan(in)
	for _, d := range res.Demand {
		if d.Placed != 2 {
			t.Errorf("%s placed %d of 4, want 2 each", d.ClassName, d.Placed)
		}
	}
	if res.Summary != "placed 4 of 8 lessons (4 in preferred periods), 4 unfilled" {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestPlanExplainsEveryUnfilledLesson(t *testing.T) {
	t.Parallel()
	head := "5B mathematics: 4 of 4 weekly lessons unfilled (0 placed now): "
	busyAllMonday := func(classID, teacherID string) []domain.TimetableEntry {
		var es []domain.TimetableEntry
		for p := 1; p <= 6; p++ {
			es = append(es, lesson(classID, art, teacherID, slot(domain.Monday, p)))
		}
		return es
	}
	for _, tc := range []struct {
		name   string
		change func(*scheduling.Input)
		reason string
	}{
		{"no school days", func(in *scheduling.Input) { in.Days = nil }, "no school days are set for the timetable"},
		{"no periods", func(in *scheduling.Input) { in.PeriodsPerDay = 0 }, "the school day has no periods to use"},
		{"no lessons allowed", func(in *scheduling.Input) { in.Teacher.MaxClassesPerDay = 0 },
			"the teacher's maximum of lessons a day (maxClassesPerDay) is 0"},
		{"teacher teaches all day", func(in *scheduling.Input) {
			in.Days = []domain.Weekday{domain.Monday}
			in.Teacher.MaxClassesPerDay = 10
			in.Existing = busyAllMonday("c6a", "t1")
		}, "on Monday the teacher teaches in every period"},
		{"class has lessons all day", func(in *scheduling.Input) {
			in.Days = []domain.Weekday{domain.Monday}
			in.Existing = busyAllMonday("c5b", "t2")
		}, "on Monday 5B already has a lesson in every period"},
		{"a different rule each day", func(in *scheduling.Input) {
			in.Days = []domain.Weekday{domain.Tuesday, domain.Monday}
			in.Teacher.MaxClassesPerDay = 6
			in.Existing = busyAllMonday("c5b", "t2")
			for p := 1; p <= 6; p++ {
				in.Existing = append(in.Existing, lesson("c6a", art, "t1", slot(domain.Tuesday, p)))
			}
		}, "on Tuesday the teacher has reached the maximum of 6 lessons a day (maxClassesPerDay); on Monday 5B already has a lesson in every period"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := fiveB()
			in.Teacher.Subjects = []domain.Subject{maths, art}
			in.Classes = []scheduling.Class{class("c5b", "5B", taught(maths, ""), taught(art, "t2"))}
			tc.change(&in)
			res := scheduling.Plan(in)
			want := []scheduling.Unfilled{{ClassID: "c5b", ClassName: "5B", Subject: maths, Lessons: 4, Reason: head + tc.reason}}
			if len(res.Entries) != 0 || !reflect.DeepEqual(res.Unfilled, want) {
				t.Errorf("entries %v, unfilled\n%+v, want\n%+v", res.Entries, res.Unfilled, want)
			}
		})
	}
}

func TestPlanExplanation(t *testing.T) {
	t.Parallel()
	in := scheduling.Input{
		Teacher: scheduling.Teacher{ID: "t1", Subjects: []domain.Subject{maths, physics},
			PreferredTimeSlots: []domain.TimeOfDay{domain.Morning}, MaxClassesPerDay: 3},
		Classes: []scheduling.Class{
			class("c6a", "6A", taught(maths, ""), taught(physics, "t1")),
			class("c5a", "5A", taught(maths, "t9")),
			class("c5b", "5B", taught(maths, ""), taught(art, "t2")),
		},
		Existing: []domain.TimetableEntry{
			lesson("c5b", art, "t2", slot(domain.Monday, 1)),
			lesson("c6a", physics, "t1", slot(domain.Friday, 1)),
		},
		Days:           weekdays,
		PeriodsPerDay:  6,
		LessonsPerWeek: 4,
	}
	res := scheduling.Plan(in)
	want := []string{
		"Teacher's week: Monday–Friday, periods 1–6, at most 3 lessons a day (maxClassesPerDay); 1 lesson of the teacher is already in the timetable and counts towards it.",
		"Needed: 11 lessons for 3 class subjects at 4 a week, less those already timetabled: 5B mathematics 4, 6A mathematics 4, 6A physics 3.",
		"Left to their own teachers: 5A mathematics.",
		"Placed all 11 lessons.",
		"All 11 lessons are in the preferred time slots (morning: periods 1–4).",
		"No new lesson shares a day with another lesson of its class subject.",
		"Method: an exact min-cost flow over the free periods (deterministic, no machine learning). It places as many lessons as the rules allow; when not all fit, it shares the shortage as evenly as possible between class subjects; then it puts as many lessons as possible in preferred periods, spreads each class subject over the days, and prefers earlier periods.",
	}
	if !reflect.DeepEqual(res.Explanation, want) {
		t.Errorf("explanation\n%s\nwant\n%s", strings.Join(res.Explanation, "\n"), strings.Join(want, "\n"))
	}
	if res.Summary != "placed all 11 lessons (11 in preferred periods)" {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestPlanNothingToSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*scheduling.Input)
		line   string
	}{
		{"no subjects", func(in *scheduling.Input) { in.Teacher.Subjects = nil }, "Nothing to schedule: the teacher has no subjects."},
		{"no class takes them", func(in *scheduling.Input) { in.Teacher.Subjects = []domain.Subject{physics, "chemistry"} },
			"Nothing to schedule: no class is taught chemistry or physics."},
		{"all taken", func(in *scheduling.Input) { in.Classes[0].Subjects[0].TeacherID = "t9" },
			"Nothing to schedule: every class taught mathematics has another teacher."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := fiveB()
			tc.change(&in)
			res := scheduling.Plan(in)
			if len(res.Entries) != 0 || len(res.Unfilled) != 0 || res.Summary != "nothing to schedule" ||
				!slices.Contains(res.Explanation, tc.line) {
				t.Errorf("entries %v, unfilled %v, summary %q, explanation %q", res.Entries, res.Unfilled, res.Summary, res.Explanation)
			}
		})
	}
}

func TestPlanNormalizesTheWeek(t *testing.T) {
	t.Parallel()
	in := fiveB()
	in.Days = []domain.Weekday{"funday", domain.Wednesday, domain.Monday, domain.Wednesday}
	in.PeriodsPerDay = domain.MaxPeriod + 5
	in.Teacher.PreferredTimeSlots = []domain.TimeOfDay{domain.Late}
	in.LessonsPerWeek = 8
	res := scheduling.Plan(in)
	for _, e := range res.Entries {
		if e.Slot.Period > domain.MaxPeriod || (e.Slot.Day != domain.Monday && e.Slot.Day != domain.Wednesday) {
			t.Errorf("entry %v outside Monday and Wednesday, periods 1–%d", e, domain.MaxPeriod)
		}
	}
	if len(res.Entries) != 8 || res.Preferred != 6 {
		t.Errorf("%d entries (%d preferred), want 8 (6 in periods 8–10)", len(res.Entries), res.Preferred)
	}
	if !strings.HasPrefix(res.Explanation[0], "Teacher's week: Monday and Wednesday, periods 1–10,") {
		t.Errorf("explanation %q", res.Explanation[0])
	}
}
