package domain_test

import (
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

func examResult(student, subject string, grade float64) domain.ExamResult {
	return domain.ExamResult{StudentID: student, Subject: domain.Subject(subject), Grade: domain.Grade(grade)}
}

// examRosters: s1 and s2 in class-7, s3 and s4 (no results) in class-8;
// s9 has results but is on neither roster (moved away since).
var examRosters = map[string][]string{"class-7": {"s1", "s2"}, "class-8": {"s3", "s4"}, "class-x": {"s9"}}

func TestExamAnalyzeResults(t *testing.T) {
	t.Parallel()
	analyze := func(rosters map[string][]string, by string) func(*domain.ExamCycle) error {
		return func(x *domain.ExamCycle) error { return x.AnalyzeResults(rosters, by, acNow) }
	}
	recorded := []domain.Event{
		examRecorded(examResult("s1", "mathematics", 80), examResult("s1", "physics", 45), examResult("s2", "mathematics", 40)),
		examRecorded(examResult("s2", "physics", 60), examResult("s3", "mathematics", 70), examResult("s9", "mathematics", 30)),
		examRecorded(examResult("s2", "mathematics", 55)), // a correction: replaces 40
	}
	// Clipped: the parallel subtests below append to it.
	given := slices.Clip(append(append([]domain.Event{examScheduled()}, recorded...), examPublished(6, 4)))
	analyzed := domain.ExamResultsAnalyzed{
		ExamID: examID, SchoolID: acSchool, PassMark: 50,
		Subjects: []domain.ExamSubjectStats{
			// 30, 55, 70, 80
			{Subject: "mathematics", Students: 4, Mean: 58.75, Median: 62.5, Min: 30, Max: 80, PassRate: 0.75},
			// 45, 60
			{Subject: "physics", Students: 2, Mean: 52.5, Median: 52.5, Min: 45, Max: 60, PassRate: 0.5},
		},
		Classes: []domain.ExamClassStats{
			{ClassID: "class-7", Students: 2, Results: 4, Mean: 60, PassRate: 0.75}, // 80, 45, 55, 60
			{ClassID: "class-8", Students: 1, Results: 1, Mean: 70, PassRate: 1},
		},
		AnalyzedBy: "saga:exam_cycle_complete", At: acNow,
	}

	t.Run("analyzes the published results", func(t *testing.T) {
		t.Parallel()
		x := academic(t, domain.NewExamCycle(examID)).given(given...).
			when(analyze(examRosters, "saga:exam_cycle_complete")).then(analyzed)
		if !x.Analyzed() {
			t.Error("not analyzed")
		}
	})

	t.Run("whatever the order the results came in", func(t *testing.T) {
		t.Parallel()
		other := []domain.Event{examScheduled(),
			examRecorded(examResult("s9", "mathematics", 30), examResult("s2", "physics", 60), examResult("s2", "mathematics", 55)),
			examRecorded(examResult("s3", "mathematics", 70), examResult("s1", "physics", 45), examResult("s1", "mathematics", 80)),
			examPublished(6, 4)}
		academic(t, domain.NewExamCycle(examID)).given(other...).
			when(analyze(examRosters, "saga:exam_cycle_complete")).then(analyzed)
	})

	t.Run("a subject and a class without results, and rounding", func(t *testing.T) {
		t.Parallel()
		want := domain.ExamResultsAnalyzed{
			ExamID: examID, SchoolID: acSchool, PassMark: 50,
			Subjects: []domain.ExamSubjectStats{
				{Subject: "mathematics", Students: 3, Mean: 68.33, Median: 70, Min: 55, Max: 80, PassRate: 1},
				{Subject: "physics"},
			},
			Classes: []domain.ExamClassStats{
				{ClassID: "class-7", Students: 2, Results: 2, Mean: 62.5, PassRate: 1},
				{ClassID: "class-8"},
			},
			AnalyzedBy: "admin-1", At: acNow,
		}
		academic(t, domain.NewExamCycle(examID)).given(examScheduled(),
			examRecorded(examResult("s1", "mathematics", 70), examResult("s2", "mathematics", 55), examResult("s9", "mathematics", 80)),
			examPublished(3, 3)).
			when(analyze(examRosters, "admin-1")).then(want)
	})

	t.Run("a third of the students passing", func(t *testing.T) {
		t.Parallel()
		x := domain.Rehydrate(domain.NewExamCycle(examID), []domain.Event{examScheduled(),
			examRecorded(examResult("s1", "physics", 10), examResult("s2", "physics", 20), examResult("s3", "physics", 50)),
			examPublished(3, 3)}, 3)
		if err := x.AnalyzeResults(examRosters, "admin-1", acNow); err != nil {
			t.Fatal(err)
		}
		got := x.Changes()[0].(domain.ExamResultsAnalyzed)
		if p := got.Subjects[1]; p.PassRate != 0.3333 || p.Mean != 26.67 || p.Median != 20 {
			t.Errorf("physics: %+v", p)
		}
	})

	t.Run("once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).given(append(given, analyzed)...).
			when(analyze(examRosters, "admin-1")).thenErr(domain.ErrExamAnalyzed)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("not before the results are published", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).given(given[:len(given)-1]...).
			when(analyze(examRosters, "admin-1")).thenErr(domain.ErrExamNotPublished)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("not a cycle never scheduled", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).when(analyze(examRosters, "admin-1")).thenErr(domain.ErrExamNotFound)
	})

	t.Run("by no one", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(given...).when(analyze(examRosters, "")).thenInvalid("analyzedBy")
	})

	t.Run("the cycle is closed to results afterwards too", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(append(given, analyzed)...).
			when(func(x *domain.ExamCycle) error {
				return x.RecordResults([]domain.ExamResultInput{{StudentID: "s1", Subject: "physics", Grade: 99}}, examEligible, "t", acNow)
			}).thenErr(domain.ErrExamPublished)
	})
}
