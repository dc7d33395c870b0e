package scheduling_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/scheduling"
)

// largeSchool: classes × 8 of 10 subjects, a timetable about 70% full,
// and a new teacher of 3 subjects none of whose classes has a teacher yet
// (the most demand a teacher can face).
func largeSchool(classes, days, periods, maxPerDay int) scheduling.Input {
	r := rand.New(rand.NewPCG(42, 42))
	subjects := make([]domain.Subject, 10)
	for i := range subjects {
		subjects[i] = domain.Subject(fmt.Sprintf("subject-%d", i))
	}
	in := scheduling.Input{
		Teacher: scheduling.Teacher{ID: "t-new", Subjects: subjects[:3],
			PreferredTimeSlots: []domain.TimeOfDay{domain.Morning}, MaxClassesPerDay: maxPerDay},
		Days:           allDays[:days],
		PeriodsPerDay:  periods,
		LessonsPerWeek: 4,
	}
	for c := range classes {
		cl := scheduling.Class{ID: fmt.Sprintf("c-%03d", c), Name: fmt.Sprintf("%d%c", 1+c/4, 'A'+rune(c%4))}
		for _, s := range pick(r, subjects, 8) {
			cl.Subjects = append(cl.Subjects, domain.ClassSubject{Subject: s})
		}
		in.Classes = append(in.Classes, cl)
		for _, d := range in.Days {
			for p := 1; p <= periods; p++ {
				if r.Float64() < 0.7 {
					// Other teachers' lessons (one teacher per class and day keeps them clash-free).
					in.Existing = append(in.Existing, domain.TimetableEntry{ClassID: cl.ID, Subject: subjects[3+r.IntN(7)],
						TeacherID: fmt.Sprintf("t-%03d-%s", c, d), Slot: domain.Slot{Day: d, Period: p}})
				}
			}
		}
	}
	return in
}

func BenchmarkPlanLargeSchool(b *testing.B) {
	for _, bc := range []struct{ classes, days, periods, max int }{
		{80, 5, 8, 6},
		{200, 5, 8, 6},
		{200, 7, 10, 10},
	} {
		in := largeSchool(bc.classes, bc.days, bc.periods, bc.max)
		b.Run(fmt.Sprintf("classes=%d/days=%d/periods=%d/max=%d", bc.classes, bc.days, bc.periods, bc.max), func(b *testing.B) {
			b.ReportAllocs()
			var res scheduling.Result
			for b.Loop() {
				res = scheduling.Plan(in)
			}
			b.ReportMetric(float64(len(res.Entries)), "lessons")
			b.ReportMetric(float64(len(res.Demand)), "classsubjects")
		})
	}
}
