package commands_test

import (
	"context"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestPublishExamResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	examID := f.scheduleExam(sc)
	stream := "exam-" + examID
	xExam := f.foreignExam(sc)
	h := commands.NewPublishExamResultsHandler(f.repo)
	record := commands.NewRecordExamResultsHandler(f.repo)
	ctx := context.Background()
	publish := func(m commands.Meta) error {
		_, err := h.Handle(ctx, m, commands.PublishExamResults{ExamID: examID})
		return err
	}
	results := commands.RecordExamResults{ExamID: examID, Results: []domain.ExamResultInput{{StudentID: sc.S1, Subject: "mathematics", Grade: 77}}}

	t.Run("not without results", func(t *testing.T) {
		expectErr(t, publish(f.admin()), domain.KindConflict, "", domain.ErrNoResults)
		f.expectEvents(t, stream, domain.ExamScheduledType)
	})

	_, err := record.Handle(ctx, f.admin(), results)
	f.setupOK(err)

	t.Run("only admins", func(t *testing.T) {
		for _, m := range []commands.Meta{f.teacherAs(sc.T1), f.guardianAs(sc.G1), f.foreignAdmin()} {
			expectForbidden(t, publish(m))
		}
		f.expectEvents(t, stream, domain.ExamScheduledType, domain.ExamResultsRecordedType)
	})

	t.Run("another school's exam is not found", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.PublishExamResults{ExamID: xExam})
		expectErr(t, err, domain.KindNotFound, "", domain.ErrExamNotFound)
	})

	t.Run("an admin publishes; the cycle is closed afterwards", func(t *testing.T) {
		if err := publish(f.admin()); err != nil {
			t.Fatal(err)
		}
		want := []string{domain.ExamScheduledType, domain.ExamResultsRecordedType, domain.ExamResultsPublishedType}
		f.expectEvents(t, stream, want...)

		expectErr(t, publish(f.admin()), domain.KindConflict, "", domain.ErrExamPublished)
		_, err := record.Handle(ctx, f.teacherAs(sc.T1), results)
		expectErr(t, err, domain.KindConflict, "", domain.ErrExamPublished)
		f.expectEvents(t, stream, want...)
	})
}
