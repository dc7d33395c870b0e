package domain_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edusmarthub/edusmarthub/domain"
)

const perfStudent = "student-1"

func perfInput(assessmentID string) domain.AssessmentInput {
	return domain.AssessmentInput{
		SchoolID:       acSchool,
		AssessmentID:   assessmentID,
		Subject:        " Mathematics ",
		Grade:          72.5,
		AssessmentType: "Quiz",
		AssessedAt:     acNow.Add(-2 * time.Hour),
		RecordedBy:     "teacher-1",
	}
}

func perfRecorded(assessmentID string, subject domain.Subject, grade domain.Grade, assessedAt time.Time) domain.PerformanceRecorded {
	return domain.PerformanceRecorded{
		StudentID:      perfStudent,
		SchoolID:       acSchool,
		AssessmentID:   assessmentID,
		Subject:        subject,
		Grade:          grade,
		AssessmentType: domain.AssessmentQuiz,
		AssessedAt:     assessedAt,
		RecordedBy:     "teacher-1",
		At:             acNow,
	}
}

func TestPerformanceRecord(t *testing.T) {
	t.Parallel()
	record := func(in domain.AssessmentInput) func(*domain.Performance) error {
		return func(p *domain.Performance) error { return p.Record(in, acNow) }
	}

	t.Run("the first assessment creates the record", func(t *testing.T) {
		t.Parallel()
		p := academic(t, domain.NewPerformance(perfStudent)).
			when(record(perfInput("a1"))).
			then(perfRecorded("a1", "mathematics", 72.5, acNow.Add(-2*time.Hour)))
		if p.SchoolID() != acSchool || p.StudentID() != perfStudent || p.StreamID() != "performance-student-1" {
			t.Errorf("record = %s/%s/%s", p.SchoolID(), p.StudentID(), p.StreamID())
		}
	})

	t.Run("later assessments are added", func(t *testing.T) {
		t.Parallel()
		in := perfInput("a2")
		in.Grade, in.AssessmentType, in.Subject = 100, "project", "physics"
		want := perfRecorded("a2", "physics", 100, in.AssessedAt)
		want.AssessmentType = domain.AssessmentProject
		p := academic(t, domain.NewPerformance(perfStudent)).
			given(perfRecorded("a1", "mathematics", 40, acNow.Add(-48*time.Hour))).
			when(record(in)).
			then(want)
		if n := len(p.Assessments()); n != 2 {
			t.Errorf("%d assessments, want 2", n)
		}
	})

	t.Run("an assessment stamped a little ahead by the client's clock is accepted", func(t *testing.T) {
		t.Parallel()
		in := perfInput("a1")
		in.AssessedAt = acNow.Add(time.Minute)
		academic(t, domain.NewPerformance(perfStudent)).
			when(record(in)).
			then(perfRecorded("a1", "mathematics", 72.5, acNow.Add(time.Minute)))
	})

	t.Run("the same assessment twice is a conflict", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewPerformance(perfStudent)).
			given(perfRecorded("a1", "mathematics", 40, acNow.Add(-time.Hour))).
			when(record(perfInput("a1"))).
			thenErr(domain.ErrAssessmentExists)
		if err.Kind != domain.KindConflict || err.Field != "assessmentId" {
			t.Errorf("error = %s about %q", err.Kind, err.Field)
		}
	})

	t.Run("a record stays in its school", func(t *testing.T) {
		t.Parallel()
		in := perfInput("a2")
		in.SchoolID = "school-2"
		err := academic(t, domain.NewPerformance(perfStudent)).
			given(perfRecorded("a1", "mathematics", 40, acNow.Add(-time.Hour))).
			when(record(in)).
			thenErr(domain.ErrSchoolMismatch)
		if err.Kind != domain.KindForbidden {
			t.Errorf("kind = %s, want forbidden", err.Kind)
		}
	})
}

func TestPerformanceRecordRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		student string
		edit    func(*domain.AssessmentInput)
		field   string
	}{
		{"no student", " ", func(*domain.AssessmentInput) {}, "studentId"},
		{"no school", perfStudent, func(in *domain.AssessmentInput) { in.SchoolID = "" }, "schoolId"},
		{"no assessment id", perfStudent, func(in *domain.AssessmentInput) { in.AssessmentID = "" }, "assessmentId"},
		{"no subject", perfStudent, func(in *domain.AssessmentInput) { in.Subject = "  " }, "subject"},
		{"subject too long", perfStudent, func(in *domain.AssessmentInput) { in.Subject = strings.Repeat("x", 65) }, "subject"},
		{"negative grade", perfStudent, func(in *domain.AssessmentInput) { in.Grade = -0.5 }, "grade"},
		{"grade over 100", perfStudent, func(in *domain.AssessmentInput) { in.Grade = 100.01 }, "grade"},
		{"NaN grade", perfStudent, func(in *domain.AssessmentInput) { in.Grade = math.NaN() }, "grade"},
		{"infinite grade", perfStudent, func(in *domain.AssessmentInput) { in.Grade = math.Inf(1) }, "grade"},
		{"no assessment type", perfStudent, func(in *domain.AssessmentInput) { in.AssessmentType = "" }, "assessmentType"},
		{"unknown assessment type", perfStudent, func(in *domain.AssessmentInput) { in.AssessmentType = "essay" }, "assessmentType"},
		{"no assessedAt", perfStudent, func(in *domain.AssessmentInput) { in.AssessedAt = time.Time{} }, "assessedAt"},
		{"assessedAt in the future", perfStudent, func(in *domain.AssessmentInput) { in.AssessedAt = acNow.Add(time.Hour) }, "assessedAt"},
		{"no recorder", perfStudent, func(in *domain.AssessmentInput) { in.RecordedBy = "" }, "recordedBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := perfInput("a1")
			tt.edit(&in)
			academic(t, domain.NewPerformance(tt.student)).
				when(func(p *domain.Performance) error { return p.Record(in, acNow) }).
				thenInvalid(tt.field)
		})
	}
}

func TestPerformanceSeries(t *testing.T) {
	t.Parallel()
	day := func(n int) time.Time { return acNow.AddDate(0, 0, -n) }
	p := academic(t, domain.NewPerformance(perfStudent)).given(
		perfRecorded("a1", "physics", 60, day(3)),
		perfRecorded("a2", "mathematics", 55, day(1)),  // recorded late
		perfRecorded("a3", "mathematics", 80, day(10)), // the oldest
		perfRecorded("a4", "mathematics", 45, day(5)),
	).agg

	var grades []domain.Grade
	for _, a := range p.SubjectGrades("mathematics") {
		grades = append(grades, a.Grade)
	}
	if want := []domain.Grade{80, 45, 55}; !slices.Equal(grades, want) {
		t.Errorf("mathematics grades in assessedAt order = %v, want %v", grades, want)
	}
	if got := p.SubjectGrades("art"); len(got) != 0 {
		t.Errorf("art grades = %v, want none", got)
	}
	if got, want := p.Subjects(), []domain.Subject{"mathematics", "physics"}; !slices.Equal(got, want) {
		t.Errorf("subjects = %v, want %v", got, want)
	}
	if a, ok := p.Assessment("a3"); !ok || a.Grade != 80 || a.Type != domain.AssessmentQuiz || a.RecordedAt != acNow {
		t.Errorf("Assessment(a3) = %+v, %v", a, ok)
	}
	if _, ok := p.Assessment("nope"); ok {
		t.Error("Assessment(nope) found")
	}

	all := p.Assessments()
	all[0].Grade = 0
	if p.Assessments()[0].Grade != 60 {
		t.Error("Assessments() exposes the record's state")
	}
}

func TestAssessmentTypeFromString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"exam", "midterm", "quiz", "assignment", "project", " EXAM "} {
		if typ, err := domain.AssessmentTypeFromString("assessmentType", s); err != nil || typ.IsZero() {
			t.Errorf("%q: %v, %v", s, typ, err)
		}
	}
	if _, err := domain.AssessmentTypeFromString("assessmentType", "test"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("test: error %v, want invalid", err)
	}
}
