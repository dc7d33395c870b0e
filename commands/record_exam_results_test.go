package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestRecordExamResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	examID := f.scheduleExam(sc)
	stream := "exam-" + examID
	xExam := f.foreignExam(sc)
	h := commands.NewRecordExamResultsHandler(f.repo)
	ctx := context.Background()
	result := func(student, subject string, grade float64) domain.ExamResultInput {
		return domain.ExamResultInput{StudentID: student, Subject: subject, Grade: grade}
	}
	record := func(m commands.Meta, results ...domain.ExamResultInput) error {
		_, err := h.Handle(ctx, m, commands.RecordExamResults{ExamID: examID, Results: results})
		return err
	}
	recorded := []string{domain.ExamScheduledType}

	t.Run("an admin records for any student who sits the cycle", func(t *testing.T) {
		if err := record(f.admin(), result(sc.S1, "mathematics", 71), result(sc.S3, "Physics", 88.5)); err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, domain.ExamResultsRecordedType)
		f.expectEvents(t, stream, recorded...)
	})

	t.Run("a teacher records for the students of their class", func(t *testing.T) {
		if err := record(f.teacherAs(sc.T1), result(sc.S2, "mathematics", 64)); err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, domain.ExamResultsRecordedType)
		f.expectEvents(t, stream, recorded...)
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			m    commands.Meta
		}{
			{"a teacher for a class they do not teach", f.teacherAs(sc.T1)},
			{"a teacher of none of the classes", f.teacherAs(sc.T3)},
			{"a guardian", f.guardianAs(sc.G3)},
			{"another school's admin", f.foreignAdmin()},
		} {
			t.Run(tt.name, func(t *testing.T) {
				expectForbidden(t, record(tt.m, result(sc.S3, "mathematics", 50)))
				f.expectEvents(t, stream, recorded...)
			})
		}
	})

	t.Run("invalid results name the field", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			results  []domain.ExamResultInput
			field    string
			sentinel error
		}{
			{"a student in no class of the cycle", []domain.ExamResultInput{result(sc.S1, "mathematics", 1), result(sc.S4, "mathematics", 50)}, "results[1].studentId", domain.ErrNotOnRoster},
			{"another school's student", []domain.ExamResultInput{result(sc.XStudent, "mathematics", 50)}, "results[0].studentId", domain.ErrNotOnRoster},
			{"a subject not examined", []domain.ExamResultInput{result(sc.S1, "history", 50)}, "results[0].subject", domain.ErrNotExamSubject},
			{"a grade over 100", []domain.ExamResultInput{result(sc.S1, "mathematics", 101)}, "results[0].grade", nil},
			{"no results", nil, "results", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, record(f.admin(), tt.results...), domain.KindInvalid, tt.field, tt.sentinel)
				f.expectEvents(t, stream, recorded...)
			})
		}
	})

	t.Run("another school's exam is not found", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.RecordExamResults{ExamID: xExam, Results: []domain.ExamResultInput{result(sc.XStudent, "mathematics", 50)}})
		expectErr(t, err, domain.KindNotFound, "", domain.ErrExamNotFound)
		f.expectEvents(t, "exam-"+xExam, domain.ExamScheduledType)
	})

	t.Run("an unknown exam is not found", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.RecordExamResults{ExamID: uuid.NewString(), Results: []domain.ExamResultInput{result(sc.S1, "mathematics", 50)}})
		expectErr(t, err, domain.KindNotFound, "", domain.ErrExamNotFound)
	})

	t.Run("not before the cycle starts", func(t *testing.T) {
		id := uuid.NewString()
		_, err := commands.NewScheduleExamHandler(f.repo).Handle(ctx, f.admin(), commands.ScheduleExam{
			ExamID: id, Name: "Spring finals", Term: "2027-spring", Subjects: []string{"mathematics"},
			ClassIDs: []string{sc.C1}, StartDate: "2027-03-01", EndDate: "2027-03-05",
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Handle(ctx, f.admin(), commands.RecordExamResults{ExamID: id, Results: []domain.ExamResultInput{result(sc.S1, "mathematics", 50)}})
		expectErr(t, err, domain.KindConflict, "", domain.ErrExamNotStarted)
	})
}
