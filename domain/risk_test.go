package domain_test

import (
	"math"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const riskStudent = "student-1"

func riskInput() domain.RiskAssessmentInput {
	return domain.RiskAssessmentInput{
		SchoolID: acSchool,
		Level:    "High",
		Score:    0.82,
		Factors: []domain.RiskFactorInput{
			{Name: " mathematics_trend ", Value: -6.5, Weight: 0.4, Reason: " mathematics fell 6.5 points per assessment over the last 4 "},
			{Name: "attendance_rate", Value: 0.71, Weight: 0.3, Reason: "present at 71% of 21 register entries in the last 30 days"},
		},
		Basis: domain.RiskBasis{AssessmentID: "assessment-9", Subjects: 3, AttendanceRate: 0.71,
			AttendanceFrom: acToday.AddDays(-30), AttendanceTo: acToday},
		Method: "weighted-factors/v1",
	}
}

func riskAssessed(level domain.RiskLevel, previous domain.RiskLevel) domain.RiskAssessed {
	return domain.RiskAssessed{
		StudentID: riskStudent,
		SchoolID:  acSchool,
		Level:     level,
		Score:     0.82,
		Factors: []domain.RiskFactor{
			{Name: "mathematics_trend", Value: -6.5, Weight: 0.4, Reason: "mathematics fell 6.5 points per assessment over the last 4"},
			{Name: "attendance_rate", Value: 0.71, Weight: 0.3, Reason: "present at 71% of 21 register entries in the last 30 days"},
		},
		Basis: domain.RiskBasis{AssessmentID: "assessment-9", Subjects: 3, AttendanceRate: 0.71,
			AttendanceFrom: acToday.AddDays(-30), AttendanceTo: acToday},
		Method:        "weighted-factors/v1",
		PreviousLevel: previous,
		At:            acNow,
	}
}

func TestRiskProfileAssess(t *testing.T) {
	t.Parallel()
	assess := func(in domain.RiskAssessmentInput) func(*domain.RiskProfile) error {
		return func(r *domain.RiskProfile) error { return r.Assess(in, acNow) }
	}

	t.Run("a first assessment", func(t *testing.T) {
		t.Parallel()
		r := academic(t, domain.NewRiskProfile(riskStudent)).when(assess(riskInput())).
			then(riskAssessed(domain.RiskHigh, ""))
		if !r.Assessed() || r.Level() != domain.RiskHigh || r.Score() != 0.82 || len(r.Factors()) != 2 ||
			r.SchoolID() != acSchool || r.StudentID() != riskStudent || r.StreamID() != "risk-student-1" ||
			!r.AssessedAt().Equal(acNow) || r.AssessmentCount() != 1 {
			t.Errorf("state: %s %v %v %s", r.Level(), r.Score(), r.Factors(), r.SchoolID())
		}
	})

	t.Run("a later one names the level before", func(t *testing.T) {
		t.Parallel()
		in := riskInput()
		in.Level = "low"
		r := academic(t, domain.NewRiskProfile(riskStudent)).given(riskAssessed(domain.RiskHigh, "")).
			when(assess(in)).then(riskAssessed(domain.RiskLow, domain.RiskHigh))
		if r.Level() != domain.RiskLow || r.AssessmentCount() != 2 {
			t.Errorf("level %s, count %d", r.Level(), r.AssessmentCount())
		}
	})

	t.Run("unknown attendance, no window and no prompting assessment", func(t *testing.T) {
		t.Parallel()
		in := riskInput()
		in.Basis = domain.RiskBasis{Subjects: 1, AttendanceRate: domain.AttendanceUnknown}
		want := riskAssessed(domain.RiskHigh, "")
		want.Basis = domain.RiskBasis{Subjects: 1, AttendanceRate: -1}
		academic(t, domain.NewRiskProfile(riskStudent)).when(assess(in)).then(want)
	})

	t.Run("the bounds of the score are allowed", func(t *testing.T) {
		t.Parallel()
		for _, score := range []float64{0, 1} {
			in := riskInput()
			in.Score = score
			want := riskAssessed(domain.RiskHigh, "")
			want.Score = score
			academic(t, domain.NewRiskProfile(riskStudent)).when(assess(in)).then(want)
		}
	})

	t.Run("not for another school's student", func(t *testing.T) {
		t.Parallel()
		in := riskInput()
		in.SchoolID = "school-2"
		err := academic(t, domain.NewRiskProfile(riskStudent)).given(riskAssessed(domain.RiskHigh, "")).
			when(assess(in)).thenErr(domain.ErrSchoolMismatch)
		if err.Kind != domain.KindForbidden || err.Field != "schoolId" {
			t.Errorf("error %s about %q", err.Kind, err.Field)
		}
	})

	tests := []struct {
		name  string
		id    string
		edit  func(*domain.RiskAssessmentInput)
		field string
	}{
		{"no student", "", func(*domain.RiskAssessmentInput) {}, "studentId"},
		{"no school", riskStudent, func(in *domain.RiskAssessmentInput) { in.SchoolID = "" }, "schoolId"},
		{"no level", riskStudent, func(in *domain.RiskAssessmentInput) { in.Level = "" }, "level"},
		{"unknown level", riskStudent, func(in *domain.RiskAssessmentInput) { in.Level = "extreme" }, "level"},
		{"negative score", riskStudent, func(in *domain.RiskAssessmentInput) { in.Score = -0.1 }, "score"},
		{"score above 1", riskStudent, func(in *domain.RiskAssessmentInput) { in.Score = 82 }, "score"},
		{"NaN score", riskStudent, func(in *domain.RiskAssessmentInput) { in.Score = math.NaN() }, "score"},
		{"no factors", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors = nil }, "factors"},
		{"too many factors", riskStudent, func(in *domain.RiskAssessmentInput) {
			in.Factors = make([]domain.RiskFactorInput, 21)
		}, "factors"},
		{"a factor without a name", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[1].Name = " " }, "factors[1].name"},
		{"a factor twice", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[1].Name = "mathematics_trend" }, "factors[1].name"},
		{"an infinite value", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[0].Value = math.Inf(-1) }, "factors[0].value"},
		{"a negative weight", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[0].Weight = -0.2 }, "factors[0].weight"},
		{"a weight above 1", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[0].Weight = 1.5 }, "factors[0].weight"},
		{"a factor without a reason", riskStudent, func(in *domain.RiskAssessmentInput) { in.Factors[0].Reason = "" }, "factors[0].reason"},
		{"a reason too long", riskStudent, func(in *domain.RiskAssessmentInput) {
			in.Factors[0].Reason = strings.Repeat("x", 501)
		}, "factors[0].reason"},
		{"negative subjects", riskStudent, func(in *domain.RiskAssessmentInput) { in.Basis.Subjects = -1 }, "basis.subjects"},
		{"attendance above 1", riskStudent, func(in *domain.RiskAssessmentInput) { in.Basis.AttendanceRate = 1.2 }, "basis.attendanceRate"},
		{"attendance below -1", riskStudent, func(in *domain.RiskAssessmentInput) { in.Basis.AttendanceRate = -0.5 }, "basis.attendanceRate"},
		{"half a window", riskStudent, func(in *domain.RiskAssessmentInput) { in.Basis.AttendanceFrom = domain.Date{} }, "basis.attendanceTo"},
		{"a window backwards", riskStudent, func(in *domain.RiskAssessmentInput) {
			in.Basis.AttendanceFrom, in.Basis.AttendanceTo = in.Basis.AttendanceTo, in.Basis.AttendanceFrom
		}, "basis.attendanceTo"},
		{"no method", riskStudent, func(in *domain.RiskAssessmentInput) { in.Method = "" }, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := riskInput()
			in.Factors = append([]domain.RiskFactorInput(nil), in.Factors...)
			tt.edit(&in)
			academic(t, domain.NewRiskProfile(tt.id)).when(assess(in)).thenInvalid(tt.field)
		})
	}
}
