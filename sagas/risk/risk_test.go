package risk_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/sagas/risk"
)

var t0 = time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)

// series makes one subject's grades, a day apart, oldest first.
func series(subject string, start int, grades ...float64) []risk.Grade {
	out := make([]risk.Grade, len(grades))
	for i, g := range grades {
		out[i] = risk.Grade{
			AssessmentID: fmt.Sprintf("%s-%d", subject, start+i),
			Subject:      subject,
			Grade:        g,
			AssessedAt:   t0.Add(time.Duration(start+i) * 24 * time.Hour),
		}
	}
	return out
}

func grades(parts ...[]risk.Grade) []risk.Grade { return slices.Concat(parts...) }

func TestAssessTable(t *testing.T) {
	t.Parallel()
	good := risk.Attendance{Present: 20}
	tests := []struct {
		name    string
		in      risk.Input
		level   risk.Level
		score   float64
		factors map[string]float64 // name -> value
		reasons []string           // substrings of the factors' reasons
		explain string
	}{
		{
			name:    "no data",
			in:      risk.Input{},
			level:   risk.Low,
			score:   0,
			factors: map[string]float64{},
			explain: "risk low (0.00): no risk factor",
		},
		{
			name:  "steady good student",
			in:    risk.Input{Grades: series("mathematics", 0, 78, 80, 79, 81), Attendance: good},
			level: risk.Low, score: 0,
			factors: map[string]float64{risk.FactorGradeLevel: 79.5, risk.FactorSubjectsBelow: 0, risk.FactorGradeTrend: 0.8, risk.FactorAttendanceRate: 1},
			reasons: []string{"every subject is at or above the pass mark 50", "no subject is falling", "attended 100% of 20 register entries"},
			explain: "risk low (0.00): no risk factor",
		},
		{
			// The example of the brief: a falling subject under the pass
			// mark and poor attendance.
			name: "falling mathematics and poor attendance",
			in: risk.Input{
				Grades:           grades(series("mathematics", 0, 58, 45, 40, 38), series("english", 0, 70, 72, 71)),
				Attendance:       risk.Attendance{Present: 17, Late: 3, Absent: 8, Excused: 2},
				AttendanceWindow: 30 * 24 * time.Hour,
			},
			// level: mark 38 → (50−38)/20 = 0.6 × 0.30 = 0.18
			// below: 1/3 × 0.20 = 0.0667
			// trend: −6.5 → 0.65 × 0.25 = 0.1625
			// attendance: 20/28 = 0.714 → (0.95−0.714)/0.25 = 0.943 × 0.25 = 0.2357
			// sum 0.6449
			level: risk.High, score: 0.64,
			factors: map[string]float64{risk.FactorGradeLevel: 38, risk.FactorSubjectsBelow: 1, risk.FactorGradeTrend: -6.5, risk.FactorAttendanceRate: 0.7143},
			reasons: []string{
				"mathematics is below the pass mark 50: 3 of the last 4 assessments under it, average 45.3, latest 38",
				"1 of 2 subjects below the pass mark 50: mathematics",
				"mathematics fell 6.5 points per assessment over the last 4 (58, 45, 40, 38)",
				"attended 71.4% of 28 register entries over the last 30 days (17 present, 3 late, 8 absent); 2 excused not counted",
			},
			explain: "risk high (0.64): attendance 71.4%, mathematics below the pass mark in 3 of 4, mathematics falling 6.5 points per assessment, 1 subject below the pass mark",
		},
		{
			name:  "same grades, good attendance: medium",
			in:    risk.Input{Grades: grades(series("mathematics", 0, 58, 45, 40, 38), series("english", 0, 70, 72, 71)), Attendance: good},
			level: risk.Medium, score: 0.41,
			factors: map[string]float64{risk.FactorGradeLevel: 38, risk.FactorSubjectsBelow: 1, risk.FactorGradeTrend: -6.5, risk.FactorAttendanceRate: 1},
		},
		{
			name:  "one failed first assessment: low",
			in:    risk.Input{Grades: series("physics", 0, 45)},
			level: risk.Low, score: 0.14, // 0.25×0.30 + 1/3×0.20
			factors: map[string]float64{risk.FactorGradeLevel: 45, risk.FactorSubjectsBelow: 1},
			reasons: []string{"physics is below the pass mark 50: its one assessment scored 45"},
		},
		{
			name:  "three subjects far under the pass mark, attendance unknown: high",
			in:    risk.Input{Grades: grades(series("art", 0, 20), series("biology", 0, 25), series("chemistry", 0, 28))},
			level: risk.High, score: 0.5,
			factors: map[string]float64{risk.FactorGradeLevel: 20, risk.FactorSubjectsBelow: 3},
			reasons: []string{"3 of 3 subjects below the pass mark 50: art, biology, chemistry"},
		},
		{
			name:  "a good latest grade does not hide a failing average",
			in:    risk.Input{Grades: series("history", 0, 30, 35, 62)},
			level: risk.Low, score: 0.18, // mark = average 42.3 → 0.383×0.30 + 1/3×0.20; the trend rises
			factors: map[string]float64{risk.FactorGradeLevel: 42.33, risk.FactorSubjectsBelow: 1, risk.FactorGradeTrend: 16},
		},
		{
			name: "only the window counts",
			in: risk.Input{
				Grades: series("mathematics", 0, 10, 10, 10, 70, 72, 74),
				Window: 3,
			},
			level: risk.Low, score: 0,
			factors: map[string]float64{risk.FactorGradeLevel: 72, risk.FactorSubjectsBelow: 0, risk.FactorGradeTrend: 2},
		},
		{
			name:  "custom pass mark",
			in:    risk.Input{Grades: series("mathematics", 0, 55, 55, 55), PassMark: 60},
			level: risk.Low, score: 0.14,
			factors: map[string]float64{risk.FactorGradeLevel: 55, risk.FactorSubjectsBelow: 1, risk.FactorGradeTrend: 0},
			reasons: []string{"below the pass mark 60", "held steady"},
		},
		{
			name:  "only excused absences: attendance unknown",
			in:    risk.Input{Grades: series("art", 0, 80), Attendance: risk.Attendance{Excused: 5}},
			level: risk.Low, score: 0,
			factors: map[string]float64{risk.FactorGradeLevel: 80, risk.FactorSubjectsBelow: 0},
		},
		{
			name:  "subjects are compared case-insensitively",
			in:    risk.Input{Grades: grades(series("Mathematics", 0, 60), series(" mathematics ", 1, 40), series("MATHEMATICS", 2, 20))},
			level: risk.High, score: 0.62, // mark 20 → 0.30, 1 subject → 0.0667, trend −20 → 0.25
			factors: map[string]float64{risk.FactorGradeLevel: 20, risk.FactorSubjectsBelow: 1, risk.FactorGradeTrend: -20},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := risk.Assess(tc.in)
			if a.Level != tc.level || a.Score != tc.score {
				t.Errorf("level %s score %v, want %s %v (%s)", a.Level, a.Score, tc.level, tc.score, a.Explain())
			}
			got := map[string]float64{}
			for _, f := range a.Factors {
				got[f.Name] = f.Value
			}
			if len(got) != len(tc.factors) {
				t.Errorf("factors %v, want %v", got, tc.factors)
			}
			for name, want := range tc.factors {
				if v, ok := got[name]; !ok || math.Abs(v-want) > 0.005 {
					t.Errorf("factor %s = %v (listed %v), want %v", name, v, ok, want)
				}
			}
			var all []string
			for _, f := range a.Factors {
				all = append(all, f.Reason)
			}
			for _, r := range tc.reasons {
				if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, r) }) {
					t.Errorf("no reason contains %q:\n%s", r, strings.Join(all, "\n"))
				}
			}
			if tc.explain != "" && a.Explain() != tc.explain {
				t.Errorf("explain %q\nwant    %q", a.Explain(), tc.explain)
			}
		})
	}
}

// TestAssessTiesKeepInputOrder: assessments of one instant are taken in
// the order given, so a redelivered record gives the same window.
func TestAssessTiesKeepInputOrder(t *testing.T) {
	t.Parallel()
	in := risk.Input{Grades: []risk.Grade{
		{AssessmentID: "a", Subject: "art", Grade: 90, AssessedAt: t0},
		{AssessmentID: "b", Subject: "art", Grade: 60, AssessedAt: t0},
		{AssessmentID: "c", Subject: "art", Grade: 30, AssessedAt: t0},
	}}
	a := risk.Assess(in)
	if s := a.Subjects[0]; !slices.Equal(s.AssessmentIDs, []string{"a", "b", "c"}) || s.Latest != 30 {
		t.Fatalf("window %v latest %v, want a b c and 30", s.AssessmentIDs, s.Latest)
	}
}

// TestAssessContributionsAddUp: the score is the sum of the factors'
// weight × severity, and the weights add up to 1.
func TestAssessContributionsAddUp(t *testing.T) {
	t.Parallel()
	if w := risk.WeightGradeLevel + risk.WeightSubjectsBelow + risk.WeightGradeTrend + risk.WeightAttendanceRate; math.Abs(w-1) > 1e-9 {
		t.Fatalf("weights add up to %v", w)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 500; i++ {
		a := risk.Assess(randomInput(r))
		var sum float64
		for _, f := range a.Factors {
			if math.Abs(f.Contribution-f.Weight*f.Severity) > 1e-9 || f.Severity < 0 || f.Severity > 1 {
				t.Fatalf("factor %+v: contribution is not weight × severity in [0,1]", f)
			}
			sum += f.Contribution
			if sev, ok := risk.Severity(f.Name, f.Value, 0); !ok || math.Abs(sev-f.Severity) > 0.01 {
				t.Fatalf("factor %+v: Severity from its value gives %v (%v)", f, sev, ok)
			}
		}
		if math.Abs(a.Score-math.Round(sum*100)/100) > 1e-9 {
			t.Fatalf("score %v, factors add up to %v", a.Score, sum)
		}
	}
}

func randomInput(r *rand.Rand) risk.Input {
	subjects := []string{"mathematics", "english", "physics", "history", "art"}
	var gs []risk.Grade
	for _, s := range subjects[:1+r.IntN(len(subjects))] {
		n := 1 + r.IntN(7)
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = math.Round(r.Float64()*10000) / 100
		}
		gs = append(gs, series(s, r.IntN(3), vals...)...)
	}
	r.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	var att risk.Attendance
	if r.IntN(4) > 0 {
		att = risk.Attendance{Present: r.IntN(30), Late: r.IntN(5), Absent: r.IntN(15), Excused: r.IntN(3)}
	}
	return risk.Input{Grades: gs, Attendance: att, Window: 3 + r.IntN(4)}
}

// latestOf returns the index in gs of subject's latest assessment.
func latestOf(gs []risk.Grade, subject string) int {
	best := -1
	for i, g := range gs {
		if g.Subject == subject && (best < 0 || !g.AssessedAt.Before(gs[best].AssessedAt)) {
			best = i
		}
	}
	return best
}

// TestAssessProperties: over many random students the score stays in
// [0, 1], the level follows the thresholds, the result does not depend on
// the order the assessments are given in, and worse grades (a lower latest
// grade, a uniform drop of a subject) or worse attendance never lower the
// score.
func TestAssessProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 5))
	for i := 0; i < 3000; i++ {
		in := randomInput(r)
		a := risk.Assess(in)
		if a.Score < 0 || a.Score > 1 || math.IsNaN(a.Score) {
			t.Fatalf("score %v out of [0,1] for %+v", a.Score, in)
		}
		want := risk.Low
		switch {
		case a.Score >= risk.HighThreshold:
			want = risk.High
		case a.Score >= risk.MediumThreshold:
			want = risk.Medium
		}
		if a.Level != want {
			t.Fatalf("score %v gives level %s, want %s", a.Score, a.Level, want)
		}

		// Deterministic, whatever the input order (distinct instants per
		// subject: series spaces them a day apart).
		shuffled := slices.Clone(in.Grades)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := in
		again.Grades = shuffled
		if b := risk.Assess(again); b.Score != a.Score || b.Explain() != a.Explain() {
			t.Fatalf("order changed the result: %s vs %s", a.Explain(), b.Explain())
		}

		subject := in.Grades[r.IntN(len(in.Grades))].Subject

		// A lower latest grade never lowers the score.
		worse := in
		worse.Grades = slices.Clone(in.Grades)
		li := latestOf(worse.Grades, subject)
		worse.Grades[li].Grade = math.Round(worse.Grades[li].Grade*r.Float64()*100) / 100
		if b := risk.Assess(worse); b.Score < a.Score {
			t.Fatalf("latest %s %v → %v lowered the score %v → %v\n%s\n%s", subject, in.Grades[li].Grade,
				worse.Grades[li].Grade, a.Score, b.Score, a.Explain(), b.Explain())
		}

		// All of a subject's grades lower by the same amount never lowers
		// the score (the drop keeps every grade ≥ 0, so the trend stays).
		lowest := 100.0
		for _, g := range in.Grades {
			if g.Subject == subject {
				lowest = min(lowest, g.Grade)
			}
		}
		drop := lowest * r.Float64()
		worse = in
		worse.Grades = slices.Clone(in.Grades)
		for k := range worse.Grades {
			if worse.Grades[k].Subject == subject {
				worse.Grades[k].Grade -= drop
			}
		}
		if b := risk.Assess(worse); b.Score < a.Score {
			t.Fatalf("%s %v points lower lowered the score %v → %v\n%s\n%s", subject, drop, a.Score, b.Score, a.Explain(), b.Explain())
		}

		// Worse attendance (one present or late entry becomes an absence)
		// never lowers the score.
		worse = in
		switch {
		case in.Attendance.Present > 0:
			worse.Attendance.Present--
			worse.Attendance.Absent++
		case in.Attendance.Late > 0:
			worse.Attendance.Late--
			worse.Attendance.Absent++
		default:
			worse.Attendance.Absent++
		}
		if b := risk.Assess(worse); b.Score < a.Score {
			t.Fatalf("attendance %+v → %+v lowered the score %v → %v", in.Attendance, worse.Attendance, a.Score, b.Score)
		}
	}
}

// TestAssessEarlierGradeMayLowerTrend documents the one way a lower grade
// can lower the score: a lower earlier grade makes the fall smaller.
func TestAssessEarlierGradeMayLowerTrend(t *testing.T) {
	t.Parallel()
	falling := risk.Assess(risk.Input{Grades: series("art", 0, 90, 80, 70)})
	flat := risk.Assess(risk.Input{Grades: series("art", 0, 70, 80, 70)})
	if !(flat.Score < falling.Score) {
		t.Fatalf("flat %v, falling %v: a student who went from 90 to 70 should score higher than one at 70 throughout", flat.Score, falling.Score)
	}
}
