package domain_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const examID = "exam-1"

var examEligible = []string{"s1", "s2", "s3"}

func examInput() domain.ExamInput {
	return domain.ExamInput{
		SchoolID:    acSchool,
		Name:        " Autumn finals ",
		Term:        "2026-autumn",
		Subjects:    []string{"Mathematics", "physics"},
		ClassIDs:    []string{"class-7", "class-8"},
		StartDate:   acToday.AddDays(-5),
		EndDate:     acToday.AddDays(-1),
		ScheduledBy: "admin-1",
	}
}

func examScheduled() domain.ExamScheduled {
	return domain.ExamScheduled{
		ExamID: examID, SchoolID: acSchool, Name: "Autumn finals", Term: "2026-autumn",
		Subjects: []domain.Subject{"mathematics", "physics"}, ClassIDs: []string{"class-7", "class-8"},
		StartDate: acToday.AddDays(-5), EndDate: acToday.AddDays(-1), ScheduledBy: "admin-1", At: acNow,
	}
}

func examRecorded(results ...domain.ExamResult) domain.ExamResultsRecorded {
	return domain.ExamResultsRecorded{ExamID: examID, SchoolID: acSchool, Results: results, RecordedBy: "teacher-1", At: acNow}
}

func examPublished(results, students int) domain.ExamResultsPublished {
	return domain.ExamResultsPublished{
		ExamID: examID, SchoolID: acSchool, Name: "Autumn finals", Term: "2026-autumn",
		ResultCount: results, StudentCount: students, PublishedBy: "admin-1", At: acNow,
	}
}

func TestExamSchedule(t *testing.T) {
	t.Parallel()
	schedule := func(in domain.ExamInput) func(*domain.ExamCycle) error {
		return func(x *domain.ExamCycle) error { return x.Schedule(in, acNow) }
	}

	t.Run("schedules", func(t *testing.T) {
		t.Parallel()
		x := academic(t, domain.NewExamCycle(examID)).when(schedule(examInput())).then(examScheduled())
		if !slices.Equal(x.Subjects(), []domain.Subject{"mathematics", "physics"}) || !slices.Equal(x.ClassIDs(), []string{"class-7", "class-8"}) ||
			x.Published() || len(x.Results()) != 0 || x.Name() != "Autumn finals" || x.Term() != "2026-autumn" ||
			x.SchoolID() != acSchool || !x.StartDate().Equal(acToday.AddDays(-5)) || !x.EndDate().Equal(acToday.AddDays(-1)) ||
			x.StreamID() != "exam-exam-1" {
			t.Errorf("state: %v %v %v %s %s %s", x.Subjects(), x.ClassIDs(), x.Published(), x.Name(), x.Term(), x.StreamID())
		}
	})

	t.Run("a one-day cycle", func(t *testing.T) {
		t.Parallel()
		in := examInput()
		in.EndDate = in.StartDate
		want := examScheduled()
		want.EndDate = want.StartDate
		academic(t, domain.NewExamCycle(examID)).when(schedule(in)).then(want)
	})

	t.Run("schedules once", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(examScheduled()).when(schedule(examInput())).
			thenErr(domain.ErrExamExists)
	})

	tests := []struct {
		name  string
		id    string
		edit  func(*domain.ExamInput)
		field string
	}{
		{"no id", "", func(*domain.ExamInput) {}, "examId"},
		{"no school", examID, func(in *domain.ExamInput) { in.SchoolID = "" }, "schoolId"},
		{"no name", examID, func(in *domain.ExamInput) { in.Name = "" }, "name"},
		{"name too long", examID, func(in *domain.ExamInput) { in.Name = strings.Repeat("x", 121) }, "name"},
		{"no term", examID, func(in *domain.ExamInput) { in.Term = " " }, "term"},
		{"no subjects", examID, func(in *domain.ExamInput) { in.Subjects = nil }, "subjects"},
		{"subject twice", examID, func(in *domain.ExamInput) { in.Subjects = []string{"physics", "Physics"} }, "subjects[1]"},
		{"no classes", examID, func(in *domain.ExamInput) { in.ClassIDs = nil }, "classIds"},
		{"blank class", examID, func(in *domain.ExamInput) { in.ClassIDs = []string{"class-7", ""} }, "classIds[1]"},
		{"class twice", examID, func(in *domain.ExamInput) { in.ClassIDs = []string{"class-7", "class-7"} }, "classIds[1]"},
		{"no start", examID, func(in *domain.ExamInput) { in.StartDate = domain.Date{} }, "startDate"},
		{"no end", examID, func(in *domain.ExamInput) { in.EndDate = domain.Date{} }, "endDate"},
		{"ends before it starts", examID, func(in *domain.ExamInput) { in.EndDate = in.StartDate.AddDays(-1) }, "endDate"},
		{"no scheduler", examID, func(in *domain.ExamInput) { in.ScheduledBy = "" }, "scheduledBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := examInput()
			tt.edit(&in)
			academic(t, domain.NewExamCycle(tt.id)).when(schedule(in)).thenInvalid(tt.field)
		})
	}
}

func TestExamRecordResults(t *testing.T) {
	t.Parallel()
	record := func(results ...domain.ExamResultInput) func(*domain.ExamCycle) error {
		return func(x *domain.ExamCycle) error { return x.RecordResults(results, examEligible, "teacher-1", acNow) }
	}

	t.Run("records", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(examScheduled()).
			when(record(
				domain.ExamResultInput{StudentID: "s1", Subject: "Mathematics", Grade: 81},
				domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 0},
			)).
			then(examRecorded(
				domain.ExamResult{StudentID: "s1", Subject: "mathematics", Grade: 81},
				domain.ExamResult{StudentID: "s1", Subject: "physics", Grade: 0},
			))
	})

	t.Run("a later result corrects an earlier one", func(t *testing.T) {
		t.Parallel()
		x := academic(t, domain.NewExamCycle(examID)).
			given(examScheduled(), examRecorded(
				domain.ExamResult{StudentID: "s2", Subject: "physics", Grade: 50},
				domain.ExamResult{StudentID: "s1", Subject: "physics", Grade: 30},
			)).
			when(record(domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 35})).
			then(examRecorded(domain.ExamResult{StudentID: "s1", Subject: "physics", Grade: 35}))
		want := []domain.ExamResult{
			{StudentID: "s1", Subject: "physics", Grade: 35},
			{StudentID: "s2", Subject: "physics", Grade: 50},
		}
		if got := x.Results(); !slices.Equal(got, want) {
			t.Errorf("results = %+v, want %+v", got, want)
		}
	})

	t.Run("only the cycle's subjects", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).given(examScheduled()).
			when(record(
				domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 60},
				domain.ExamResultInput{StudentID: "s1", Subject: "art", Grade: 60},
			)).
			thenErr(domain.ErrNotExamSubject)
		if err.Kind != domain.KindInvalid || err.Field != "results[1].subject" {
			t.Errorf("error = %s about %q", err.Kind, err.Field)
		}
	})

	t.Run("only students who sit the cycle", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).given(examScheduled()).
			when(record(domain.ExamResultInput{StudentID: "s9", Subject: "physics", Grade: 60})).
			thenErr(domain.ErrNotOnRoster)
		if err.Field != "results[0].studentId" {
			t.Errorf("field = %q", err.Field)
		}
	})

	t.Run("not after publication", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).
			given(examScheduled(), examRecorded(domain.ExamResult{StudentID: "s1", Subject: "physics", Grade: 30}), examPublished(1, 1)).
			when(record(domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 90})).
			thenErr(domain.ErrExamPublished)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("not before the cycle starts", func(t *testing.T) {
		t.Parallel()
		future := examScheduled()
		future.StartDate, future.EndDate = acToday.AddDays(7), acToday.AddDays(9)
		academic(t, domain.NewExamCycle(examID)).given(future).
			when(record(domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 90})).
			thenErr(domain.ErrExamNotStarted)
	})

	t.Run("not for a cycle never scheduled", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).
			when(record(domain.ExamResultInput{StudentID: "s1", Subject: "physics", Grade: 90})).
			thenErr(domain.ErrExamNotFound)
		if err.Kind != domain.KindNotFound {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	for _, tt := range []struct {
		name    string
		results []domain.ExamResultInput
		by      string
		field   string
	}{
		{"no results", nil, "teacher-1", "results"},
		{"no student", []domain.ExamResultInput{{Subject: "physics", Grade: 1}}, "teacher-1", "results[0].studentId"},
		{"no subject", []domain.ExamResultInput{{StudentID: "s1", Grade: 1}}, "teacher-1", "results[0].subject"},
		{"grade over 100", []domain.ExamResultInput{{StudentID: "s1", Subject: "physics", Grade: 101}}, "teacher-1", "results[0].grade"},
		{"NaN grade", []domain.ExamResultInput{{StudentID: "s1", Subject: "physics", Grade: math.NaN()}}, "teacher-1", "results[0].grade"},
		{"two results for one student and subject", []domain.ExamResultInput{
			{StudentID: "s1", Subject: "physics", Grade: 1}, {StudentID: "s1", Subject: "Physics", Grade: 2},
		}, "teacher-1", "results[1]"},
		{"no recorder", []domain.ExamResultInput{{StudentID: "s1", Subject: "physics", Grade: 1}}, "", "recordedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewExamCycle(examID)).given(examScheduled()).
				when(func(x *domain.ExamCycle) error { return x.RecordResults(tt.results, examEligible, tt.by, acNow) }).
				thenInvalid(tt.field)
		})
	}
}

func TestExamPublish(t *testing.T) {
	t.Parallel()
	publish := func(by string) func(*domain.ExamCycle) error {
		return func(x *domain.ExamCycle) error { return x.Publish(by, acNow) }
	}
	results := examRecorded(
		domain.ExamResult{StudentID: "s1", Subject: "physics", Grade: 30},
		domain.ExamResult{StudentID: "s1", Subject: "mathematics", Grade: 70},
		domain.ExamResult{StudentID: "s2", Subject: "physics", Grade: 55},
	)

	t.Run("publishes the results", func(t *testing.T) {
		t.Parallel()
		x := academic(t, domain.NewExamCycle(examID)).given(examScheduled(), results).
			when(publish("admin-1")).
			then(examPublished(3, 2))
		if !x.Published() {
			t.Error("not published")
		}
	})

	t.Run("not without results", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewExamCycle(examID)).given(examScheduled()).
			when(publish("admin-1")).
			thenErr(domain.ErrNoResults)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("publishes once", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(examScheduled(), results, examPublished(3, 2)).
			when(publish("admin-1")).
			thenErr(domain.ErrExamPublished)
	})

	t.Run("not a cycle never scheduled", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).when(publish("admin-1")).thenErr(domain.ErrExamNotFound)
	})

	t.Run("no publisher", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewExamCycle(examID)).given(examScheduled(), results).when(publish("")).thenInvalid("publishedBy")
	})
}
