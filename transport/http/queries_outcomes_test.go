package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/projections"
)

// TestQueryWorkflowOutcomes: what the workflows record with commands of
// their own (no HTTP route) shows in the read routes' JSON as openapi.json
// documents it (every exchange is checked against the document): an
// intervention escalated to the school office, a meeting marked a no-show,
// an exam cycle's results analysed, a teacher's onboarding completed.
func TestQueryWorkflowOutcomes(t *testing.T) {
	t.Parallel()
	rw := newRichWorld(t, options{})
	ctx := context.Background()
	// After the meeting's slot (the documented example's, 2026-03-10).
	later := time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)
	repo := commands.NewRepository(rw.a.e.store, func() time.Time { return later })
	service := commands.Meta{SchoolID: rw.school, Actor: commands.Actor{ID: "saga:test", Roles: []commands.Role{commands.RoleService}}}
	ok := func(_ commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(commands.NewEscalateInterventionHandler(repo).Handle(ctx, service, commands.EscalateIntervention{
		InterventionID: rw.intervention, Reason: "follow-up overdue"}))
	ok(commands.NewMarkMeetingNoShowHandler(repo).Handle(ctx, service, commands.MarkMeetingNoShow{
		MeetingID: rw.meeting, Reason: "nobody came"}))
	ok(commands.NewAnalyzeExamResultsHandler(repo).Handle(ctx, service, commands.AnalyzeExamResults{ExamID: rw.exam}))
	welcome := uuid.NewString()
	ok(commands.NewCompleteTeacherOnboardingHandler(repo).Handle(ctx, service, commands.CompleteTeacherOnboarding{
		TeacherID: rw.math, TimetableVersion: 1, LessonsAssigned: 1, WelcomeMessageID: welcome}))
	rw.a.e.settle()
	s := func(parts ...string) string { return schoolPath(rw.school, parts...) }

	var iv projections.Intervention
	decodeOK(t, rw.get(s("/interventions/", rw.intervention), rw.admin, nil), &iv)
	if !iv.Escalated || iv.EscalatedAt == nil || !iv.EscalatedAt.Equal(later) || iv.EscalationReason != "follow-up overdue" ||
		iv.EscalatedBy != "saga:test" || iv.Status != "open" {
		t.Errorf("the escalated intervention: %+v", iv)
	}
	var ivs projections.Page[projections.Intervention]
	decodeOK(t, rw.get(s("/interventions?status=open"), rw.admin, nil), &ivs)
	if len(ivs.Items) != 1 || !ivs.Items[0].Escalated {
		t.Errorf("open interventions: %+v", ivs.Items)
	}
	var board projections.Page[projections.AtRiskStudent]
	decodeOK(t, rw.get(s("/at-risk"), rw.admin, nil), &board)
	if len(board.Items) != 1 || len(board.Items[0].OpenInterventions) != 1 {
		t.Fatalf("the board: %+v", board.Items)
	}
	if on := board.Items[0].OpenInterventions[0]; !on.Escalated || on.EscalatedAt == nil || !on.EscalatedAt.Equal(later) {
		t.Errorf("the board's intervention: %+v", on)
	}

	var m projections.Meeting
	decodeOK(t, rw.get(s("/meetings/", rw.meeting), rw.admin, nil), &m)
	if m.Status != "no_show" || m.NoShowReason != "nobody came" || m.NoShowAt == nil || m.Date == "" {
		t.Errorf("the no-show meeting: %+v", m)
	}
	var ms projections.Page[projections.Meeting]
	decodeOK(t, rw.get(s("/meetings?status=no_show"), rw.admin, nil), &ms)
	if len(ms.Items) != 1 || ms.Items[0].MeetingID != rw.meeting {
		t.Errorf("no-shows: %+v", ms.Items)
	}

	// Mathematics 72 and 64.5, both students of the class.
	var x projections.Exam
	decodeOK(t, rw.get(s("/exams/", rw.exam), rw.admin, nil), &x)
	if x.Analysis == nil || len(x.Analysis.Subjects) == 0 || len(x.Analysis.Classes) != 1 {
		t.Fatalf("the analysed exam: %+v", x)
	}
	maths := x.Analysis.Subjects[0]
	if maths != (projections.ExamSubjectStats{Subject: "mathematics", Students: 2, Mean: 68.25, Median: 68.25, Min: 64.5, Max: 72, PassRate: 1}) {
		t.Errorf("mathematics: %+v", maths)
	}
	if c := x.Analysis.Classes[0]; c != (projections.ExamClassStats{ClassID: rw.class, Students: 2, Results: 2, Mean: 68.25, PassRate: 1}) {
		t.Errorf("the class: %+v", c)
	}

	var teacher projections.Teacher
	decodeOK(t, rw.get(s("/teachers/", rw.math), rw.admin, nil), &teacher)
	if ob := teacher.Onboarding; ob == nil || !ob.CompletedAt.Equal(later) || ob.TimetableVersion != 1 || ob.LessonsAssigned != 1 ||
		ob.LessonsUnfilled != 0 || ob.WelcomeMessageID != welcome {
		t.Errorf("the onboarded teacher: %+v", ob)
	}
	var other projections.Teacher
	decodeOK(t, rw.get(s("/teachers/", rw.english), rw.admin, nil), &other)
	if other.Onboarding != nil {
		t.Errorf("a teacher not onboarded: %+v", other.Onboarding)
	}
}
