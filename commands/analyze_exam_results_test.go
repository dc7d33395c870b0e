package commands_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestAnalyzeExamResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewAnalyzeExamResultsHandler(f.repo)
	ctx := context.Background()
	// publishedExam schedules an exam (classes C1: S1, S2; C2: S3), records
	// its results and publishes them.
	publishedExam := func() string {
		id := f.scheduleExam(sc)
		_, err := commands.NewRecordExamResultsHandler(f.repo).Handle(ctx, f.admin(), commands.RecordExamResults{ExamID: id,
			Results: []domain.ExamResultInput{
				{StudentID: sc.S1, Subject: "mathematics", Grade: 80}, {StudentID: sc.S2, Subject: "mathematics", Grade: 40},
				{StudentID: sc.S3, Subject: "mathematics", Grade: 65}, {StudentID: sc.S3, Subject: "physics", Grade: 55},
			}})
		f.setupOK(err)
		_, err = commands.NewPublishExamResultsHandler(f.repo).Handle(ctx, f.admin(), commands.PublishExamResults{ExamID: id})
		f.setupOK(err)
		return id
	}
	events := []string{domain.ExamScheduledType, domain.ExamResultsRecordedType, domain.ExamResultsPublishedType,
		domain.ExamResultsAnalyzedType}

	t.Run("analyzed by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"the workflow": f.service(),
			"an admin":     f.admin(),
		} {
			t.Run(name, func(t *testing.T) {
				id := publishedExam()
				res := expectOnce[commands.AnalyzeExamResults](t, f, h, m, commands.AnalyzeExamResults{ExamID: id}, events...)
				recs, err := f.store.ReadStream(ctx, res.Stream, 3, 0)
				if err != nil || len(recs) != 1 {
					t.Fatalf("read: %v, %d events", err, len(recs))
				}
				e, err := domain.DecodeEvent(recs[0].Type, recs[0].Data)
				if err != nil {
					t.Fatal(err)
				}
				got := e.(domain.ExamResultsAnalyzed)
				want := domain.ExamResultsAnalyzed{ExamID: id, SchoolID: f.school, PassMark: 50,
					Subjects: []domain.ExamSubjectStats{
						{Subject: "mathematics", Students: 3, Mean: 61.67, Median: 65, Min: 40, Max: 80, PassRate: 0.6667},
						{Subject: "physics", Students: 1, Mean: 55, Median: 55, Min: 55, Max: 55, PassRate: 1},
					},
					Classes: []domain.ExamClassStats{
						{ClassID: sc.C1, Students: 2, Results: 2, Mean: 60, PassRate: 0.5},
						{ClassID: sc.C2, Students: 1, Results: 2, Mean: 60, PassRate: 1},
					},
					AnalyzedBy: m.Actor.ID, At: f.now}
				if analysisJSON(got) != analysisJSON(want) {
					t.Fatalf("analysis:\n got %s\nwant %s", analysisJSON(got), analysisJSON(want))
				}
				m.CommandID = uuid.NewString() // another command, not a redelivery
				_, err = h.Handle(ctx, m, commands.AnalyzeExamResults{ExamID: id})
				expectErr(t, err, domain.KindConflict, "", domain.ErrExamAnalyzed)
			})
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		id := publishedExam()
		for name, m := range map[string]commands.Meta{
			"a teacher":                   f.teacherAs(sc.T1),
			"a guardian":                  f.guardianAs(sc.G1),
			"another school's admin":      f.foreignAdmin(),
			"a service of another school": f.foreignService(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, commands.AnalyzeExamResults{ExamID: id})
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "exam-"+id, events[:3]...)
	})

	t.Run("rejected", func(t *testing.T) {
		unpublished := f.scheduleExam(sc)
		for _, tt := range []struct {
			name     string
			id       string
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"results not published", unpublished, domain.KindConflict, "", domain.ErrExamNotPublished},
			{"another school's exam", f.foreignExam(sc), domain.KindNotFound, "", domain.ErrExamNotFound},
			{"an unknown exam", uuid.NewString(), domain.KindNotFound, "", domain.ErrExamNotFound},
			{"no exam", "", domain.KindInvalid, "examId", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.service(), commands.AnalyzeExamResults{ExamID: tt.id})
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "exam-"+unpublished, domain.ExamScheduledType)
	})
}

// analysisJSON renders a value for comparison and failure messages.
func analysisJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
