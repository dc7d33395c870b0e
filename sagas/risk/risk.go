// Package risk scores how much a student is at risk of failing, from their
// recent grades and attendance. It is a rule-based score: a fixed weighted
// sum of four factors with documented thresholds, not machine learning and
// not a trained model. The same input always gives the same assessment,
// and every factor says in words why it counted (DESIGN.md rule 7).
//
// # Inputs
//
// Every graded assessment of the student (subject, grade 0–100, when it
// was assessed), the attendance register entries counted over a recent
// window, the pass mark P (domain.PassMark, 50) and the window N of recent
// assessments read per subject (5). For each subject the last N
// assessments by assessedAt (ties in input order) are its window.
//
// # Factors
//
// For each subject s with window g₁…gₙ (oldest first): latest Lₛ = gₙ,
// average Aₛ = mean(g), and the subject's mark mₛ = min(Lₛ, Aₛ): a subject
// is below the pass mark when its latest grade or its window's average is.
// With n ≥ 3 the trend bₛ is the least-squares slope of g over 1…n, in
// points per assessment (fewer than 3 assessments make no trend).
//
//	factor                     weight  severity (0..1)
//	grade_level                0.30    max over subjects of clamp((P − mₛ) / 20): 20 points under the pass mark counts fully
//	subjects_below_pass_mark   0.20    min(c, 3) / 3, c = subjects with mₛ < P
//	grade_trend                0.25    max over subjects of clamp(−bₛ / 10): a fall of 10 points per assessment counts fully
//	attendance_rate            0.25    clamp((0.95 − r) / 0.25), r = (present + late) / (present + late + absent)
//
// Excused absences are left out of the attendance rate. A factor that
// cannot be computed (no subject with 3 assessments for the trend, no
// register entries for attendance) is not listed and adds nothing: missing
// data is not evidence of risk.
//
// # Score and level
//
//	score = Σ weight × severity, rounded to 2 decimals, in [0, 1]
//	level = high when score ≥ 0.50, medium when score ≥ 0.25, else low
//
// Each factor's Value is its raw figure (the mark, the count, the slope,
// the rate) and its Weight the weight above; its Contribution is
// weight × severity, and the contributions add up to the score (before
// rounding).
//
// # What "worse" means
//
// The score never falls when a subject's latest grade is lower, when all
// of a subject's grades are lower by the same amount, or when attendance
// is lower. It can fall when only an earlier grade is lower: the fall from
// that grade to the latest is then smaller, and a student who has always
// had 60 is not declining the way one who went from 80 to 60 is.
package risk

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Factor names. Stored in events: append-only, never rename.
const (
	FactorGradeLevel     = "grade_level"
	FactorSubjectsBelow  = "subjects_below_pass_mark"
	FactorGradeTrend     = "grade_trend"
	FactorAttendanceRate = "attendance_rate"
)

// Weights of the factors; they add up to 1.
const (
	WeightGradeLevel     = 0.30
	WeightSubjectsBelow  = 0.20
	WeightGradeTrend     = 0.25
	WeightAttendanceRate = 0.25
)

// Scales of the severities (see the package documentation).
const (
	levelFullShortfall = 20.0 // points under the pass mark for full severity
	subjectsBelowFull  = 3    // subjects below the pass mark for full severity
	trendFullFall      = 10.0 // points lost per assessment for full severity
	attendanceGood     = 0.95 // rate at or above which attendance adds nothing
	attendanceSpan     = 0.25 // how far under attendanceGood counts fully (0.70)
	minTrendPoints     = 3    // assessments a subject needs for a trend
)

// Level thresholds on the (rounded) score.
const (
	HighThreshold   = 0.50
	MediumThreshold = 0.25
)

// Defaults of Input.
const (
	DefaultPassMark = 50.0
	DefaultWindow   = 5
)

// Method names the algorithm in the events it produces; a change to the
// formula gets a new method name.
const Method = "rule-based-v1"

// Level is low, medium or high (the values of domain.RiskLevel).
type Level string

const (
	Low    Level = "low"
	Medium Level = "medium"
	High   Level = "high"
)

// Grade is one graded assessment of the student.
type Grade struct {
	AssessmentID string
	Subject      string
	Grade        float64 // 0..100
	AssessedAt   time.Time
}

// Attendance counts register entries over the attendance window; all zero
// when no register was taken (attendance unknown).
type Attendance struct {
	Present, Late, Absent, Excused int
}

// Rate is the share of counted entries attended (present or late);
// excused absences are not counted. ok is false when nothing was counted.
func (a Attendance) Rate() (rate float64, ok bool) {
	counted := a.Present + a.Late + a.Absent
	if counted <= 0 {
		return 0, false
	}
	return float64(a.Present+a.Late) / float64(counted), true
}

// Input is what an assessment reads.
type Input struct {
	Grades     []Grade
	Attendance Attendance
	// AttendanceWindow is how far back Attendance counts, for the reasons
	// ("over the last 30 days"); 0 leaves it out.
	AttendanceWindow time.Duration
	// PassMark is the grade below which a subject counts as failed (0:
	// DefaultPassMark).
	PassMark float64
	// Window is how many recent assessments per subject are read (0:
	// DefaultWindow).
	Window int
}

// Factor is one factor of the score and why it counted.
type Factor struct {
	Name         string   `json:"name"`
	Value        float64  `json:"value"`  // the raw figure: a mark, a count, a slope, a rate
	Weight       float64  `json:"weight"` // its weight in the score
	Severity     float64  `json:"severity"`
	Contribution float64  `json:"contribution"` // weight × severity
	Subjects     []string `json:"subjects,omitempty"`
	Reason       string   `json:"reason"`  // a sentence for people
	Summary      string   `json:"summary"` // the same, short, for one-line reasons
}

// SubjectSummary is what the assessment read of one subject.
type SubjectSummary struct {
	Subject       string    `json:"subject"`
	AssessmentIDs []string  `json:"assessmentIds"` // the window, oldest first
	Grades        []float64 `json:"grades"`
	Latest        float64   `json:"latest"`
	Average       float64   `json:"average"`
	Mark          float64   `json:"mark"`            // min(latest, average)
	BelowPass     int       `json:"belowPass"`       // window grades under the pass mark
	Trend         *float64  `json:"trend,omitempty"` // slope, points per assessment; nil under 3 assessments
}

// Assessment is the result: level, score, the factors behind them and the
// per-subject figures they were computed from.
type Assessment struct {
	Level          Level            `json:"level"`
	Score          float64          `json:"score"`
	Factors        []Factor         `json:"factors"`
	Subjects       []SubjectSummary `json:"subjects"`
	AttendanceRate float64          `json:"attendanceRate"` // -1 when unknown
	PassMark       float64          `json:"passMark"`
	Window         int              `json:"window"`
	Method         string           `json:"method"`
}

// Assess scores in. It is pure and deterministic.
func Assess(in Input) Assessment {
	pass := in.PassMark
	if pass <= 0 {
		pass = DefaultPassMark
	}
	window := in.Window
	if window <= 0 {
		window = DefaultWindow
	}
	subjects := summarize(in.Grades, pass, window)
	out := Assessment{Subjects: subjects, PassMark: pass, Window: window, Method: Method, AttendanceRate: -1}

	if f, ok := gradeLevel(subjects, pass); ok {
		out.Factors = append(out.Factors, f)
	}
	if f, ok := subjectsBelow(subjects, pass); ok {
		out.Factors = append(out.Factors, f)
	}
	if f, ok := gradeTrend(subjects); ok {
		out.Factors = append(out.Factors, f)
	}
	if rate, ok := in.Attendance.Rate(); ok {
		out.AttendanceRate = round(rate, 4)
		out.Factors = append(out.Factors, attendance(in.Attendance, rate, in.AttendanceWindow))
	}
	var sum float64
	for _, f := range out.Factors {
		sum += f.Contribution
	}
	out.Score = round(clamp(sum), 2)
	switch {
	case out.Score >= HighThreshold:
		out.Level = High
	case out.Score >= MediumThreshold:
		out.Level = Medium
	default:
		out.Level = Low
	}
	return out
}

// Explain is a one-line account: "risk high (0.78): mathematics below the
// pass mark in 3 of 4, attendance 71%". It names the factors that added to
// the score, largest first.
func (a Assessment) Explain() string {
	var parts []string
	for _, f := range a.Contributing() {
		parts = append(parts, f.Summary)
	}
	if len(parts) == 0 {
		parts = append(parts, "no risk factor")
	}
	return fmt.Sprintf("risk %s (%.2f): %s", a.Level, a.Score, strings.Join(parts, ", "))
}

// Contributing returns the factors that added to the score, largest
// contribution first (ties by name).
func (a Assessment) Contributing() []Factor {
	var out []Factor
	for _, f := range a.Factors {
		if f.Contribution > 0 {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y Factor) int {
		return cmp.Or(cmp.Compare(y.Contribution, x.Contribution), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// Factor returns the factor named name, if listed.
func (a Assessment) Factor(name string) (Factor, bool) {
	i := slices.IndexFunc(a.Factors, func(f Factor) bool { return f.Name == name })
	if i < 0 {
		return Factor{}, false
	}
	return a.Factors[i], true
}

// summarize groups the grades by subject (sorted by name) and keeps each
// subject's last window assessments by assessedAt.
func summarize(grades []Grade, pass float64, window int) []SubjectSummary {
	type indexed struct {
		g Grade
		i int
	}
	by := map[string][]indexed{}
	for i, g := range grades {
		s := strings.ToLower(strings.TrimSpace(g.Subject))
		if s == "" || math.IsNaN(g.Grade) {
			continue
		}
		g.Subject, g.Grade = s, min(max(g.Grade, 0), 100)
		by[s] = append(by[s], indexed{g: g, i: i})
	}
	names := make([]string, 0, len(by))
	for s := range by {
		names = append(names, s)
	}
	slices.Sort(names)
	out := make([]SubjectSummary, 0, len(names))
	for _, s := range names {
		gs := by[s]
		slices.SortFunc(gs, func(a, b indexed) int { return cmp.Or(a.g.AssessedAt.Compare(b.g.AssessedAt), cmp.Compare(a.i, b.i)) })
		if len(gs) > window {
			gs = gs[len(gs)-window:]
		}
		sum := SubjectSummary{Subject: s}
		var total float64
		for _, x := range gs {
			g := x.g
			sum.AssessmentIDs = append(sum.AssessmentIDs, g.AssessmentID)
			sum.Grades = append(sum.Grades, g.Grade)
			total += g.Grade
			if g.Grade < pass {
				sum.BelowPass++
			}
		}
		sum.Latest = gs[len(gs)-1].g.Grade
		sum.Average = round(total/float64(len(gs)), 2)
		sum.Mark = min(sum.Latest, total/float64(len(gs)))
		if len(gs) >= minTrendPoints {
			b := round(slope(sum.Grades), 2)
			sum.Trend = &b
		}
		out = append(out, sum)
	}
	return out
}

// slope is the least-squares slope of ys over x = 1…n.
func slope(ys []float64) float64 {
	n := float64(len(ys))
	xm := (n + 1) / 2
	var ym float64
	for _, y := range ys {
		ym += y
	}
	ym /= n
	var sxy, sxx float64
	for i, y := range ys {
		dx := float64(i+1) - xm
		sxy += dx * (y - ym)
		sxx += dx * dx
	}
	return sxy / sxx
}

func gradeLevel(subjects []SubjectSummary, pass float64) (Factor, bool) {
	if len(subjects) == 0 {
		return Factor{}, false
	}
	// The worst subject: lowest mark, ties by name (subjects are sorted).
	worst := subjects[0]
	for _, s := range subjects[1:] {
		if s.Mark < worst.Mark {
			worst = s
		}
	}
	sev := clamp((pass - worst.Mark) / levelFullShortfall)
	f := Factor{Name: FactorGradeLevel, Value: round(worst.Mark, 2), Weight: WeightGradeLevel, Severity: sev,
		Contribution: WeightGradeLevel * sev, Subjects: []string{worst.Subject}}
	n := len(worst.Grades)
	switch {
	case worst.Mark < pass && n == 1:
		f.Reason = fmt.Sprintf("%s is below the pass mark %s: its one assessment scored %s", worst.Subject, num(pass), num(worst.Latest))
		f.Summary = fmt.Sprintf("%s below the pass mark (%s)", worst.Subject, num(worst.Latest))
	case worst.Mark < pass:
		f.Reason = fmt.Sprintf("%s is below the pass mark %s: %s of the last %d assessments under it, average %s, latest %s",
			worst.Subject, num(pass), countOf(worst.BelowPass, n), n, num(worst.Average), num(worst.Latest))
		f.Summary = fmt.Sprintf("%s below the pass mark in %d of %d", worst.Subject, worst.BelowPass, n)
	default:
		f.Reason = fmt.Sprintf("every subject is at or above the pass mark %s; the lowest is %s (average %s, latest %s)",
			num(pass), worst.Subject, num(worst.Average), num(worst.Latest))
		f.Summary = "every subject at or above the pass mark"
	}
	return f, true
}

func subjectsBelow(subjects []SubjectSummary, pass float64) (Factor, bool) {
	if len(subjects) == 0 {
		return Factor{}, false
	}
	var below []string
	for _, s := range subjects {
		if s.Mark < pass {
			below = append(below, s.Subject)
		}
	}
	c := len(below)
	sev := float64(min(c, subjectsBelowFull)) / subjectsBelowFull
	f := Factor{Name: FactorSubjectsBelow, Value: float64(c), Weight: WeightSubjectsBelow, Severity: sev,
		Contribution: WeightSubjectsBelow * sev, Subjects: below}
	switch c {
	case 0:
		f.Reason = fmt.Sprintf("none of %s is below the pass mark %s", plural(len(subjects), "subject"), num(pass))
		f.Summary = "no subject below the pass mark"
	default:
		f.Reason = fmt.Sprintf("%d of %s below the pass mark %s: %s", c, plural(len(subjects), "subject"), num(pass), strings.Join(below, ", "))
		f.Summary = fmt.Sprintf("%s below the pass mark", plural(c, "subject"))
	}
	return f, true
}

func gradeTrend(subjects []SubjectSummary) (Factor, bool) {
	var worst *SubjectSummary
	for i := range subjects {
		s := &subjects[i]
		if s.Trend != nil && (worst == nil || *s.Trend < *worst.Trend) {
			worst = s
		}
	}
	if worst == nil {
		return Factor{}, false
	}
	b := *worst.Trend
	sev := clamp(-b / trendFullFall)
	f := Factor{Name: FactorGradeTrend, Value: b, Weight: WeightGradeTrend, Severity: sev,
		Contribution: WeightGradeTrend * sev, Subjects: []string{worst.Subject}}
	n := len(worst.Grades)
	switch {
	case b < 0:
		f.Reason = fmt.Sprintf("%s fell %s points per assessment over the last %d (%s)", worst.Subject, num(-b), n, series(worst.Grades))
		f.Summary = fmt.Sprintf("%s falling %s points per assessment", worst.Subject, num(-b))
	case b == 0:
		f.Reason = fmt.Sprintf("no subject is falling: %s held steady over the last %d (%s)", worst.Subject, n, series(worst.Grades))
		f.Summary = "no subject falling"
	default:
		f.Reason = fmt.Sprintf("no subject is falling: the least rising, %s, gained %s points per assessment over the last %d (%s)",
			worst.Subject, num(b), n, series(worst.Grades))
		f.Summary = "no subject falling"
	}
	return f, true
}

func attendance(a Attendance, rate float64, window time.Duration) Factor {
	sev := clamp((attendanceGood - rate) / attendanceSpan)
	pct := percent(rate)
	over := ""
	if window > 0 {
		over = " over the last " + days(window)
	}
	reason := fmt.Sprintf("attended %s of %d register entries%s (%d present, %d late, %d absent)",
		pct, a.Present+a.Late+a.Absent, over, a.Present, a.Late, a.Absent)
	if a.Excused > 0 {
		reason += fmt.Sprintf("; %d excused not counted", a.Excused)
	}
	return Factor{Name: FactorAttendanceRate, Value: round(rate, 4), Weight: WeightAttendanceRate, Severity: sev,
		Contribution: WeightAttendanceRate * sev, Reason: reason, Summary: "attendance " + pct}
}

// Severity is the severity (0..1) of a factor of this method from its
// recorded value, for readers of an assessment's event (which records
// name, value and weight): its contribution is weight × severity. pass is
// the pass mark the assessment used (0: DefaultPassMark). ok is false for
// a name this method does not produce.
func Severity(name string, value, pass float64) (severity float64, ok bool) {
	if pass <= 0 {
		pass = DefaultPassMark
	}
	switch name {
	case FactorGradeLevel:
		return clamp((pass - value) / levelFullShortfall), true
	case FactorSubjectsBelow:
		return float64(min(max(int(value), 0), subjectsBelowFull)) / subjectsBelowFull, true
	case FactorGradeTrend:
		return clamp(-value / trendFullFall), true
	case FactorAttendanceRate:
		return clamp((attendanceGood - value) / attendanceSpan), true
	}
	return 0, false
}

func clamp(x float64) float64 { return min(max(x, 0), 1) }

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// num formats a figure with at most one decimal: 6.5, 42, 71.3.
func num(x float64) string { return strconv.FormatFloat(round(x, 1), 'f', -1, 64) }

func percent(rate float64) string { return num(rate*100) + "%" }

func series(gs []float64) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = num(g)
	}
	return strings.Join(parts, ", ")
}

func countOf(k, n int) string {
	if k == n {
		return "all"
	}
	return strconv.Itoa(k)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}
