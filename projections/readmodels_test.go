package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/eventstore/postgres"
	"github.com/edusmarthub/edusmarthub/internal/pgtest"
	"github.com/edusmarthub/edusmarthub/projections"
)

// must fails the test on a query error: must(query(...))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		return v
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	// Times scanned from PostgreSQL may differ in location only.
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func ptr[T any](v T) *T { return &v }

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, projections.ErrNotFound) || domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("%s: err = %v, want not found", what, err)
	}
}

// TestReadModels runs the scenario's week in two schools through the
// command handlers and the PostgreSQL store, feeds every read model from
// the store's log, and checks what each shows, and that school B's queries
// show nothing of school A.
func TestReadModels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := newRegistry(t, w.pool, w.store)
	a := w.buildSchool("hillside")
	b := w.buildSchool("riverside")
	ps := projections.All()
	deliver(t, reg, readAll(t, w.pool, w.store))
	ctx := context.Background()
	db := w.pool

	t.Run("schools", func(t *testing.T) {
		s := must(projections.GetSchool(ctx, db, a.ID))(t)
		eq(t, "school", []string{s.Name, s.Timezone}, []string{"hillside", "Europe/London"})
		all := must(projections.ListSchools(ctx, db, projections.PageParams{Limit: 1}))(t)
		eq(t, "first page", len(all.Items), 1)
		eq(t, "first school", all.Items[0].Name, "hillside")
		next := must(projections.ListSchools(ctx, db, projections.PageParams{Limit: 1, Cursor: all.NextCursor}))(t)
		eq(t, "second school", next.Items[0].Name, "riverside")
		eq(t, "last page", next.NextCursor, "")
	})

	t.Run("teachers", func(t *testing.T) {
		t1 := must(projections.GetTeacher(ctx, db, a.ID, a.T1))(t)
		eq(t, "T1 subjects", t1.Subjects, []string{"mathematics", "physics"})
		eq(t, "T1 preferences", []any{t1.PreferredTimeSlots, t1.MaxClassesPerDay}, []any{[]string{"morning", "afternoon"}, 5})
		eq(t, "T1 classes", t1.Classes, []projections.TaughtClass{
			{ClassID: a.C1, ClassName: "7A", Subject: "mathematics"}, {ClassID: a.C2, ClassName: "7B", Subject: "mathematics"}})
		t2 := must(projections.GetTeacher(ctx, db, a.ID, a.T2))(t)
		eq(t, "T2 classes", t2.Classes, []projections.TaughtClass{
			{ClassID: a.C1, ClassName: "7A", Subject: "english"}, {ClassID: a.C2, ClassName: "7B", Subject: "english"}})
		t3 := must(projections.GetTeacher(ctx, db, a.ID, a.T3))(t)
		eq(t, "T3 status", []string{t3.Status, t3.DeactivationReason}, []string{"deactivated", "retired"})
		eq(t, "T2's onboarding", t2.Onboarding, &projections.TeacherOnboarding{CompletedAt: day(0, 7), TimetableVersion: 2,
			LessonsAssigned: 2, LessonsUnfilled: 1, WelcomeMessageID: a.Welcome})
		eq(t, "T1 not onboarded", t1.Onboarding, (*projections.TeacherOnboarding)(nil))

		active := must(projections.ListTeachers(ctx, db, a.ID, projections.TeacherFilter{Status: "active"}))(t)
		eq(t, "active teachers", ids(active.Items, func(x projections.Teacher) string { return x.TeacherID }), []string{a.T1, a.T2})
		maths := must(projections.ListTeachers(ctx, db, a.ID, projections.TeacherFilter{Subject: "Mathematics"}))(t)
		eq(t, "maths teachers", ids(maths.Items, func(x projections.Teacher) string { return x.TeacherID }), []string{a.T1})
		ofC2 := must(projections.ListTeachers(ctx, db, a.ID, projections.TeacherFilter{ClassID: a.C2}))(t)
		eq(t, "teachers of 7B", len(ofC2.Items), 2)
		// Paging by creation time, one at a time, sees all three once.
		var seen []string
		page := projections.TeacherFilter{Sort: "createdAt", PageParams: projections.PageParams{Limit: 1}}
		for {
			p := must(projections.ListTeachers(ctx, db, a.ID, page))(t)
			seen = append(seen, ids(p.Items, func(x projections.Teacher) string { return x.TeacherID })...)
			if p.NextCursor == "" {
				break
			}
			page.Cursor = p.NextCursor
		}
		eq(t, "paged teachers", len(seen), 3)
		_, err := projections.ListTeachers(ctx, db, a.ID, projections.TeacherFilter{Sort: "name", PageParams: projections.PageParams{Cursor: page.Cursor}})
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("cursor of another sort order: err = %v, want invalid", err)
		}
	})

	t.Run("students and rosters", func(t *testing.T) {
		s1 := must(projections.GetStudent(ctx, db, a.ID, a.S1))(t)
		eq(t, "S1", []any{s1.Name, s1.DateOfBirth, s1.ClassID, s1.ClassName, s1.Status}, []any{"ada", "2014-05-06", a.C1, "7A", "enrolled"})
		eq(t, "S1 guardians", s1.Guardians, []projections.StudentGuardian{
			{GuardianID: a.G1, Name: "Parent of ada", Email: "ada@family.example.org", Relationship: "mother"}})
		s5 := must(projections.GetStudent(ctx, db, a.ID, a.S5))(t)
		eq(t, "S5", []any{s5.Status, s5.ClassID, s5.WithdrawalReason}, []any{"withdrawn", "", "moved away"})

		inC2 := must(projections.ListStudents(ctx, db, a.ID, projections.StudentFilter{ClassID: a.C2}))(t)
		eq(t, "students of 7B", ids(inC2.Items, func(x projections.Student) string { return x.Name }), []string{"cyd", "dee"})
		enrolled := must(projections.ListStudents(ctx, db, a.ID, projections.StudentFilter{Status: "enrolled", Sort: "enrolledAt"}))(t)
		eq(t, "enrolled", len(enrolled.Items), 4)
		ofG1 := must(projections.ListStudents(ctx, db, a.ID, projections.StudentFilter{GuardianID: a.G1}))(t)
		eq(t, "children of G1", ids(ofG1.Items, func(x projections.Student) string { return x.StudentID }), []string{a.S1})

		c1 := must(projections.GetClass(ctx, db, a.ID, a.C1))(t)
		eq(t, "7A", []any{c1.Name, c1.Students, c1.Subjects}, []any{"7A", 2, []projections.ClassSubject{
			{Subject: "mathematics", TeacherID: a.T1}, {Subject: "english", TeacherID: a.T2}}})
		c2 := must(projections.GetClass(ctx, db, a.ID, a.C2))(t)
		eq(t, "7B subjects", c2.Subjects, []projections.ClassSubject{{Subject: "mathematics", TeacherID: a.T1}, {Subject: "english", TeacherID: a.T2}})
		roster := must(projections.ClassRoster(ctx, db, a.ID, a.C1, projections.PageParams{}))(t)
		eq(t, "roster of 7A", ids(roster.Items, func(x projections.RosterEntry) string { return x.Name }), []string{"ada", "bob"})
		classes := must(projections.ListClasses(ctx, db, a.ID, projections.ClassFilter{TeacherID: a.T2}))(t)
		eq(t, "classes of T2", ids(classes.Items, func(x projections.Class) string { return x.Name }), []string{"7A", "7B"})

		yes := must(projections.TeacherTeachesStudent(ctx, db, a.ID, a.T2, a.S4))(t)
		no := must(projections.TeacherTeachesStudent(ctx, db, a.ID, a.T3, a.S4))(t)
		eq(t, "T2 teaches S4, T3 not", []bool{yes, no}, []bool{true, false})
		eq(t, "T1's classes", must(projections.TeacherClassIDs(ctx, db, a.ID, a.T1))(t), sorted(a.C1, a.C2))
		eq(t, "T2 teaches 7B", must(projections.TeacherTeachesClass(ctx, db, a.ID, a.T2, a.C2))(t), true)
		eq(t, "G3's children", must(projections.GuardianStudentIDs(ctx, db, a.ID, a.G3))(t), []string{a.S3})
	})

	t.Run("timetables", func(t *testing.T) {
		cur := must(projections.GetTimetable(ctx, db, a.ID, projections.TimetableSelector{ClassID: a.C2}))(t)
		eq(t, "7B now", []any{cur.Version, cur.Current, cur.ChangeKind, cur.Reason}, []any{2, true, "minor", "english for 7B"})
		eq(t, "7B lessons", cur.Lessons, []projections.Lesson{
			{ClassID: a.C2, Subject: "mathematics", TeacherID: a.T1, Day: "tuesday", Period: 1},
			{ClassID: a.C2, Subject: "english", TeacherID: a.T2, Day: "wednesday", Period: 3}})
		v1 := must(projections.GetTimetable(ctx, db, a.ID, projections.TimetableSelector{ClassID: a.C2, Version: 1}))(t)
		eq(t, "7B in v1", []any{v1.Current, len(v1.Lessons)}, []any{false, 1})
		t1 := must(projections.GetTimetable(ctx, db, a.ID, projections.TimetableSelector{TeacherID: a.T1}))(t)
		eq(t, "T1's week", len(t1.Lessons), 2)
		whole := must(projections.GetTimetable(ctx, db, a.ID, projections.TimetableSelector{}))(t)
		eq(t, "whole week", len(whole.Lessons), 4)
		hist := must(projections.TimetableHistory(ctx, db, a.ID, projections.TimetableSelector{ClassID: a.C2}, projections.PageParams{}))(t)
		eq(t, "history of 7B", ids(hist.Items, func(v projections.TimetableVersion) [2]int { return [2]int{v.Version, v.Lessons} }),
			[][2]int{{2, 2}, {1, 1}})
		_, err := projections.GetTimetable(ctx, db, a.ID, projections.TimetableSelector{Version: 3})
		wantNotFound(t, "version 3", err)
	})

	t.Run("performance", func(t *testing.T) {
		p := must(projections.GetStudentPerformance(ctx, db, a.ID, a.S1))(t)
		eq(t, "S1", []any{p.Name, p.ClassID}, []any{"ada", a.C1})
		eq(t, "S1 subjects", p.Subjects, []projections.SubjectPerformance{
			{Subject: "english", Assessments: 1, Average: 90, TrendBasis: 1, Latest: 90, LatestAssessedAt: day(1, 9)},
			{Subject: "mathematics", Assessments: 6, Average: 72.5, Trend: ptr(5.0), TrendBasis: 5, Latest: 85, LatestAssessedAt: day(4, 9)},
		})
		p2 := must(projections.GetStudentPerformance(ctx, db, a.ID, a.S2))(t)
		eq(t, "S2 mathematics", p2.Subjects, []projections.SubjectPerformance{
			{Subject: "mathematics", Assessments: 2, Average: 42.5, Trend: ptr(5.0), TrendBasis: 2, Latest: 45,
				LatestAssessedAt: day(3, 9), BelowPassMark: true}})
		hist := must(projections.ListStudentAssessments(ctx, db, a.ID, a.S1, projections.AssessmentFilter{
			Subject: "mathematics", PageParams: projections.PageParams{Limit: 4}}))(t)
		eq(t, "newest first", ids(hist.Items, func(x projections.Assessment) float64 { return x.Grade }), []float64{85, 80, 75, 70})
		rest := must(projections.ListStudentAssessments(ctx, db, a.ID, a.S1, projections.AssessmentFilter{
			Subject: "mathematics", PageParams: projections.PageParams{Limit: 4, Cursor: hist.NextCursor}}))(t)
		eq(t, "then", ids(rest.Items, func(x projections.Assessment) float64 { return x.Grade }), []float64{65, 60})
		monday := must(projections.ListStudentAssessments(ctx, db, a.ID, a.S1, projections.AssessmentFilter{From: date(0), To: date(0)}))(t)
		eq(t, "Monday's", len(monday.Items), 2)

		eq(t, "7A averages", must(projections.SubjectAverages(ctx, db, a.ID, a.C1))(t), []projections.SubjectAverage{
			{Subject: "english", Average: 90, Assessments: 1, Students: 1},
			{Subject: "mathematics", Average: 65, Assessments: 8, Students: 2}})
		eq(t, "7B averages", must(projections.SubjectAverages(ctx, db, a.ID, a.C2))(t), []projections.SubjectAverage{
			{Subject: "mathematics", Average: 60, Assessments: 2, Students: 2}})
		eq(t, "school averages", must(projections.SubjectAverages(ctx, db, a.ID, ""))(t), []projections.SubjectAverage{
			{Subject: "english", Average: 90, Assessments: 1, Students: 1},
			{Subject: "mathematics", Average: 64, Assessments: 10, Students: 4}})
	})

	t.Run("attendance", func(t *testing.T) {
		week := func(present, late, absent, excused int, rate float64) []projections.WeeklyAttendance {
			return []projections.WeeklyAttendance{{ISOYear: 2026, ISOWeek: 45, WeekStart: date(0),
				AttendanceCounts: projections.AttendanceCounts{Present: present, Late: late, Absent: absent, Excused: excused, Rate: ptr(rate)}}}
		}
		rates := func(f projections.AttendanceRateFilter) []projections.WeeklyAttendance {
			return must(projections.WeeklyAttendanceRates(ctx, db, a.ID, f))(t)
		}
		eq(t, "S1", rates(projections.AttendanceRateFilter{StudentID: a.S1}), week(5, 0, 0, 0, 1))
		eq(t, "S2", rates(projections.AttendanceRateFilter{StudentID: a.S2}), week(2, 1, 1, 1, 0.75))
		eq(t, "7A", rates(projections.AttendanceRateFilter{ClassID: a.C1}), week(8, 1, 1, 1, 0.9))
		eq(t, "7B", rates(projections.AttendanceRateFilter{ClassID: a.C2}), week(8, 0, 2, 0, 0.8))
		eq(t, "school", rates(projections.AttendanceRateFilter{}), week(16, 1, 3, 1, 0.85))
		eq(t, "next week", rates(projections.AttendanceRateFilter{From: date(7)}), []projections.WeeklyAttendance{})

		fri := must(projections.GetRegister(ctx, db, a.ID, a.C1, date(4), 1))(t)
		want := []projections.RegisterLine{{StudentID: a.S1, Status: "present"}, {StudentID: a.S2, Status: "present", Note: "arrived after the roll call"}}
		slices.SortFunc(want, func(x, y projections.RegisterLine) int { return cmpStr(x.StudentID, y.StudentID) })
		eq(t, "Friday's lines", fri.Lines, want)
		eq(t, "Friday's amendment", len(fri.Amendments), 1)
		eq(t, "amended", []string{fri.Amendments[0].PreviousStatus, fri.Amendments[0].Status}, []string{"absent", "present"})
		eq(t, "Friday's rate", *fri.Rate, 1.0)
		regs := must(projections.ListRegisters(ctx, db, a.ID, projections.RegisterFilter{ClassID: a.C1, PageParams: projections.PageParams{Limit: 2}}))(t)
		eq(t, "newest registers", ids(regs.Items, func(r projections.RegisterSummary) string { return r.Date }), []string{date(4), date(3)})
		more := must(projections.ListRegisters(ctx, db, a.ID, projections.RegisterFilter{ClassID: a.C1,
			PageParams: projections.PageParams{Limit: 10, Cursor: regs.NextCursor}}))(t)
		eq(t, "older registers", len(more.Items), 3)
		_, err := projections.GetRegister(ctx, db, a.ID, a.C1, date(5), 1)
		wantNotFound(t, "Saturday's register", err)
	})

	t.Run("at-risk board", func(t *testing.T) {
		board := must(projections.ListAtRisk(ctx, db, a.ID, projections.AtRiskFilter{}))(t)
		eq(t, "board", len(board.Items), 1)
		row := board.Items[0]
		eq(t, "S2", []any{row.StudentID, row.Name, row.ClassID, row.Level, row.LevelSource}, []any{a.S2, "bob", a.C1, "high", "intervention"})
		eq(t, "S2's open interventions", ids(row.OpenInterventions, func(x projections.InterventionSummary) []any {
			return []any{x.InterventionID, x.RiskLevel, x.FollowUpDue, x.FollowUps, x.Escalated, x.EscalatedAt}
		}), [][]any{{a.IV1, "high", date(10), 1, true, ptr(day(4, 10))}})
		iv := must(projections.GetIntervention(ctx, db, a.ID, a.IV2))(t)
		eq(t, "IV2", []any{iv.Status, iv.Outcome, iv.ClosingNote, iv.Escalated, iv.EscalatedAt},
			[]any{"closed", "resolved", "back every day", false, (*time.Time)(nil)})
		iv1 := must(projections.GetIntervention(ctx, db, a.ID, a.IV1))(t)
		eq(t, "IV1 escalated, still open", []any{iv1.Status, iv1.Escalated, iv1.EscalatedAt, iv1.EscalatedBy, iv1.EscalationReason},
			[]any{"open", true, ptr(day(4, 10)), "saga:hillside", "no progress after two sessions"})
		open := must(projections.ListInterventions(ctx, db, a.ID, projections.InterventionFilter{Status: "open"}))(t)
		eq(t, "open interventions", ids(open.Items, func(x projections.Intervention) string { return x.InterventionID }), []string{a.IV1})
		mine := must(projections.ListInterventions(ctx, db, a.ID, projections.InterventionFilter{AssignedTo: a.T1}))(t)
		escalated := map[string]bool{}
		for _, x := range mine.Items {
			escalated[x.InterventionID] = x.Escalated
		}
		eq(t, "T1's interventions, escalated", escalated, map[string]bool{a.IV1: true, a.IV2: false})
	})

	t.Run("exams and report cards", func(t *testing.T) {
		x := must(projections.GetExam(ctx, db, a.ID, a.Exam))(t)
		eq(t, "exam", []any{x.Name, x.Published, x.ResultCount, x.StudentCount}, []any{"Autumn tests", true, 5, 3})
		// Mathematics 88, 48 (45 replaced), 70; english 92, 55. 7A is S1
		// and S2 (S4 moved to 7B, S5 withdrawn), 7B S3 and S4.
		eq(t, "analysis", x.Analysis, &projections.ExamAnalysis{PassMark: 50,
			Subjects: []projections.ExamSubjectStats{
				{Subject: "mathematics", Students: 3, Mean: 68.67, Median: 70, Min: 48, Max: 88, PassRate: 0.6667},
				{Subject: "english", Students: 2, Mean: 73.5, Median: 73.5, Min: 55, Max: 92, PassRate: 1}},
			Classes: []projections.ExamClassStats{
				{ClassID: a.C1, Students: 2, Results: 4, Mean: 70.75, PassRate: 0.75},
				{ClassID: a.C2, Students: 1, Results: 1, Mean: 70, PassRate: 1}},
			AnalyzedBy: "saga:hillside", AnalyzedAt: day(4, 10)})
		analysed := map[string]bool{}
		for _, x := range must(projections.ListExams(ctx, db, a.ID, projections.ExamFilter{}))(t).Items {
			analysed[x.ExamID] = x.Analysis != nil
		}
		eq(t, "analysed, in the list", analysed, map[string]bool{a.Exam: true, a.MockExam: false})
		unpublished := must(projections.ListExams(ctx, db, a.ID, projections.ExamFilter{Published: ptr(false)}))(t)
		eq(t, "unpublished", ids(unpublished.Items, func(x projections.Exam) string { return x.ExamID }), []string{a.MockExam})
		res := must(projections.ListExamResults(ctx, db, a.ID, a.Exam, projections.ExamResultFilter{StudentID: a.S2}))(t)
		eq(t, "S2's results", ids(res.Items, func(r projections.ExamResult) []any { return []any{r.Subject, r.Grade, r.Published, r.StudentName} }),
			[][]any{{"english", 55.0, true, "bob"}, {"mathematics", 48.0, true, "bob"}})
		mock := must(projections.ListExamResults(ctx, db, a.ID, a.MockExam, projections.ExamResultFilter{PublishedOnly: true}))(t)
		eq(t, "mock results hidden", len(mock.Items), 0)

		card := must(projections.GetReportCard(ctx, db, a.ID, a.S2, projections.ReportCardSelector{ExamID: a.Exam}))(t)
		eq(t, "S2's card", []any{card.StudentName, card.Average, card.Subjects}, []any{"bob", 51.5, []projections.ReportCardSubject{
			{Subject: "english", Grade: 55, Results: 1, Passed: true}, {Subject: "mathematics", Grade: 48, Results: 1}}})
		term := must(projections.GetReportCard(ctx, db, a.ID, a.S1, projections.ReportCardSelector{Term: "2026-autumn"}))(t)
		eq(t, "S1's term card (the mock is unpublished)", []any{len(term.Exams), term.Average}, []any{1, 90.0})
		_, err := projections.GetReportCard(ctx, db, a.ID, a.S1, projections.ReportCardSelector{ExamID: a.MockExam})
		wantNotFound(t, "card of an unpublished exam", err)
	})

	t.Run("meetings", func(t *testing.T) {
		t1 := must(projections.ListMeetings(ctx, db, a.ID, projections.MeetingFilter{TeacherID: a.T1}))(t)
		eq(t, "T1's calendar", ids(t1.Items, func(m projections.Meeting) []any { return []any{m.MeetingID, m.Status, m.Date, m.Period} }),
			[][]any{{a.M1, "completed", date(3), 6}, {a.M2, "cancelled", "", 0}})
		m1 := must(projections.GetMeeting(ctx, db, a.ID, a.M1))(t)
		eq(t, "M1", []any{m1.Reschedules, m1.Notes}, []any{1, "doing well"})
		g3 := must(projections.ListMeetings(ctx, db, a.ID, projections.MeetingFilter{GuardianID: a.G3, Status: "scheduled"}))(t)
		eq(t, "G3's calendar", ids(g3.Items, func(m projections.Meeting) string { return m.MeetingID }), []string{a.M3})
		week := must(projections.ListMeetings(ctx, db, a.ID, projections.MeetingFilter{From: date(0), To: date(4)}))(t)
		eq(t, "this week's", ids(week.Items, func(m projections.Meeting) string { return m.MeetingID }), []string{a.M1, a.M4})
		m4 := must(projections.GetMeeting(ctx, db, a.ID, a.M4))(t)
		eq(t, "M4", []any{m4.Status, m4.Date, m4.Period, m4.NoShowReason, m4.NoShowAt, m4.CancelReason},
			[]any{"no_show", date(4), 6, "nobody came", ptr(day(4, 15)), ""})
		noShows := must(projections.ListMeetings(ctx, db, a.ID, projections.MeetingFilter{TeacherID: a.T2, Status: "no_show"}))(t)
		eq(t, "T2's no-shows", ids(noShows.Items, func(m projections.Meeting) string { return m.MeetingID }), []string{a.M4})
	})

	t.Run("inbox", func(t *testing.T) {
		t1 := projections.Recipient{Kind: "teacher", ID: a.T1}
		in := must(projections.ListInbox(ctx, db, a.ID, t1, projections.InboxFilter{}))(t)
		eq(t, "T1's inbox", ids(in.Items, func(m projections.InboxMessage) string { return m.MessageID }), []string{a.Msg2, a.Msg1})
		eq(t, "unread", in.Unread, 2)
		read := must(projections.MarkRead(ctx, db, a.ID, t1, a.Msg1))(t)
		again := must(projections.MarkRead(ctx, db, a.ID, t1, a.Msg1))(t)
		eq(t, "read once", []any{read.Read, again.ReadAt.Equal(*read.ReadAt)}, []any{true, true})
		unread := must(projections.ListInbox(ctx, db, a.ID, t1, projections.InboxFilter{UnreadOnly: true}))(t)
		eq(t, "T1's unread", ids(unread.Items, func(m projections.InboxMessage) string { return m.MessageID }), []string{a.Msg2})
		eq(t, "unread count", unread.Unread, 1)
		g1 := must(projections.ListInbox(ctx, db, a.ID, projections.Recipient{Kind: "guardian", ID: a.G1}, projections.InboxFilter{}))(t)
		eq(t, "G1's inbox is unread", ids(g1.Items, func(m projections.InboxMessage) bool { return m.Read }), []bool{false})
		_, err := projections.MarkRead(ctx, db, a.ID, projections.Recipient{Kind: "guardian", ID: a.G2}, a.Msg1)
		wantNotFound(t, "another's message", err)
		must(projections.MarkUnread(ctx, db, a.ID, t1, a.Msg1))(t)
		eq(t, "unread again", must(projections.ListInbox(ctx, db, a.ID, t1, projections.InboxFilter{}))(t).Unread, 2)
	})

	t.Run("dashboard", func(t *testing.T) {
		d := must(projections.GetDashboard(ctx, db, a.ID, 0))(t)
		eq(t, "headcounts", d.Headcounts, projections.Headcounts{Students: 4, WithdrawnStudents: 1, Teachers: 2, DeactivatedTeachers: 1, Classes: 2})
		eq(t, "subject averages", d.SubjectAverages, []projections.SubjectAverage{
			{Subject: "english", Average: 90, Assessments: 1, Students: 1}, {Subject: "mathematics", Average: 64, Assessments: 10, Students: 4}})
		eq(t, "class averages", ids(d.ClassSubjectAverages, func(c projections.ClassSubjectAverage) []any {
			return []any{c.ClassName, c.Subject, c.Average}
		}), [][]any{{"7A", "english", 90.0}, {"7A", "mathematics", 65.0}, {"7B", "mathematics", 60.0}})
		eq(t, "attendance trend", ids(d.AttendanceTrend, func(w projections.WeeklyAttendance) []any { return []any{w.WeekStart, *w.Rate} }),
			[][]any{{date(0), 0.85}})
		eq(t, "interventions", []any{d.Interventions.Opened, d.Interventions.Closed, d.Interventions.Open, d.Interventions.ByOutcome},
			[]any{2, 1, 1, map[string]int{"resolved": 1}})
		eq(t, "interventions by week", d.Interventions.Weekly, []projections.InterventionWeek{{WeekStart: date(0), Opened: 2, Closed: 1}})
	})

	t.Run("monitoring", func(t *testing.T) {
		var events int64
		for _, e := range readAll(t, w.pool, w.store) {
			if e.Metadata.SchoolID == a.ID {
				events++
			}
		}
		var counted int64
		byChannel := map[string]int64{}
		for _, r := range must(projections.EventRates(ctx, db, a.ID, projections.EventRateFilter{}))(t) {
			counted += r.Events
			byChannel[r.Channel] += r.Events
		}
		eq(t, "events counted", counted, events)
		eq(t, "attendance events", byChannel["attendance"], 11)
		head := must(w.store.Head(ctx))(t)
		// A log reader four events behind: its lag is what the backlog
		// counts after its position (the store's count, and a stand-in
		// that tells it apart), or the head minus its position without it.
		logged := readAll(t, w.pool, w.store)
		behind := logged[len(logged)-5].Position
		if _, err := db.Exec(ctx, `INSERT INTO checkpoints (name, position) VALUES ('reader-test', $1)`, int64(behind)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = db.Exec(context.Background(), `DELETE FROM checkpoints WHERE name = 'reader-test'`) })
		withBacklog := must(projections.GetSystemStatus(ctx, db, projections.SystemSources{
			Head: func(ctx context.Context) (uint64, error) { return w.store.Head(ctx) },
			Backlog: func(ctx context.Context, after eventstore.Position) (uint64, error) {
				return postgres.Backlog(ctx, w.pool, after)
			}}))(t)
		eq(t, "readers", withBacklog.Readers[len(withBacklog.Readers)-1].Name, "reader-test")
		eq(t, "reader's lag in the log", withBacklog.Readers[len(withBacklog.Readers)-1].Lag, uint64(4))
		fake := must(projections.GetSystemStatus(ctx, db, projections.SystemSources{
			Backlog: func(_ context.Context, after eventstore.Position) (uint64, error) { return uint64(after) + 1000, nil }}))(t)
		eq(t, "reader's lag from the backlog", fake.Readers[len(fake.Readers)-1].Lag, behind+1000)
		st := must(projections.GetSystemStatus(ctx, db, projections.SystemSources{
			Head:        func(ctx context.Context) (uint64, error) { return w.store.Head(ctx) },
			DeadLetters: func(context.Context) (int, error) { return 3, nil }}))(t)
		eq(t, "head", st.StoreHead, head)
		eq(t, "reader's lag without the backlog", st.Readers[len(st.Readers)-1].Lag, head-behind)
		eq(t, "dead letters", *st.DeadLetters, 3)
		eq(t, "projections", len(st.Projections), len(ps))
		for _, p := range st.Projections {
			if !p.Exists || p.Streams == 0 || p.Position == 0 {
				t.Errorf("projection %s: %+v, want progress", p.Name, p)
			}
			if p.Lag != head-p.Position {
				t.Errorf("projection %s: lag %d without the consumers' lag, want the head minus its position, %d", p.Name, p.Lag, head-p.Position)
			}
		}
		// With the consumers' lag, that is the projections' lag; one the
		// consumers' lag does not name keeps the upper bound.
		consumerLag := map[string]int64{}
		for _, p := range ps {
			consumerLag[p.Name()] = 0
		}
		consumerLag["performance"] = 7
		delete(consumerLag, "exams")
		st = must(projections.GetSystemStatus(ctx, db, projections.SystemSources{
			Head:        func(ctx context.Context) (uint64, error) { return w.store.Head(ctx) },
			ConsumerLag: func(context.Context) (map[string]int64, error) { return consumerLag, nil }}))(t)
		for _, p := range st.Projections {
			want, ok := consumerLag[p.Name]
			if !ok {
				want = int64(head - p.Position)
			}
			if p.Lag != uint64(want) {
				t.Errorf("projection %s: lag %d, want %d", p.Name, p.Lag, want)
			}
		}
		if st.DeadLetters != nil {
			t.Errorf("dead letters %d, want none reported when unknown", *st.DeadLetters)
		}
		// Kafka down: the rest is still reported, with what is missing.
		down := func(context.Context) (int, error) { return 0, errors.New("broker down") }
		st = must(projections.GetSystemStatus(ctx, db, projections.SystemSources{
			Head:        func(ctx context.Context) (uint64, error) { return w.store.Head(ctx) },
			ConsumerLag: func(context.Context) (map[string]int64, error) { return nil, errors.New("broker down") },
			DeadLetters: down}))(t)
		eq(t, "unavailable", st.Unavailable, map[string]string{
			projections.FigureConsumerLag: "broker down", projections.FigureDeadLetters: "broker down"})
		if st.DeadLetters != nil || len(st.Projections) != len(ps) || st.Projections[0].Lag != head-st.Projections[0].Position {
			t.Errorf("status with Kafka down: %+v, want no dead letters and upper-bound lags", st)
		}
		if _, err := projections.EventRates(ctx, db, a.ID, projections.EventRateFilter{Channel: "nope"}); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("unknown channel: err = %v, want invalid", err)
		}
	})

	t.Run("tenancy", func(t *testing.T) {
		// School B asks for school A's rows by their IDs: nothing.
		notFound := map[string]error{}
		_, notFound["teacher"] = projections.GetTeacher(ctx, db, b.ID, a.T1)
		_, notFound["student"] = projections.GetStudent(ctx, db, b.ID, a.S1)
		_, notFound["class"] = projections.GetClass(ctx, db, b.ID, a.C1)
		_, notFound["roster"] = projections.ClassRoster(ctx, db, b.ID, a.C1, projections.PageParams{})
		_, notFound["performance"] = projections.GetStudentPerformance(ctx, db, b.ID, a.S1)
		_, notFound["register"] = projections.GetRegister(ctx, db, b.ID, a.C1, date(0), 1)
		_, notFound["intervention"] = projections.GetIntervention(ctx, db, b.ID, a.IV1)
		_, notFound["exam"] = projections.GetExam(ctx, db, b.ID, a.Exam)
		_, notFound["exam results"] = projections.ListExamResults(ctx, db, b.ID, a.Exam, projections.ExamResultFilter{})
		_, notFound["report card"] = projections.GetReportCard(ctx, db, b.ID, a.S1, projections.ReportCardSelector{ExamID: a.Exam})
		_, notFound["meeting"] = projections.GetMeeting(ctx, db, b.ID, a.M1)
		_, notFound["message"] = projections.GetInboxMessage(ctx, db, b.ID, projections.Recipient{Kind: "teacher", ID: a.T1}, a.Msg1)
		_, notFound["mark read"] = projections.MarkRead(ctx, db, b.ID, projections.Recipient{Kind: "teacher", ID: a.T1}, a.Msg1)
		for what, err := range notFound {
			wantNotFound(t, what, err)
		}
		// Lists filtered by A's IDs are empty in B.
		empty := map[string]int{
			"students of A's class":       len(must(projections.ListStudents(ctx, db, b.ID, projections.StudentFilter{ClassID: a.C1}))(t).Items),
			"A's guardian's children":     len(must(projections.ListStudents(ctx, db, b.ID, projections.StudentFilter{GuardianID: a.G1}))(t).Items),
			"teachers of A's class":       len(must(projections.ListTeachers(ctx, db, b.ID, projections.TeacherFilter{ClassID: a.C1}))(t).Items),
			"A's student's assessments":   len(must(projections.ListStudentAssessments(ctx, db, b.ID, a.S1, projections.AssessmentFilter{}))(t).Items),
			"A's class averages":          len(must(projections.SubjectAverages(ctx, db, b.ID, a.C1))(t)),
			"A's student's attendance":    len(must(projections.WeeklyAttendanceRates(ctx, db, b.ID, projections.AttendanceRateFilter{StudentID: a.S1}))(t)),
			"A's class's registers":       len(must(projections.ListRegisters(ctx, db, b.ID, projections.RegisterFilter{ClassID: a.C1}))(t).Items),
			"A's class's lessons":         len(must(projections.GetTimetable(ctx, db, b.ID, projections.TimetableSelector{ClassID: a.C1}))(t).Lessons),
			"A's teacher's meetings":      len(must(projections.ListMeetings(ctx, db, b.ID, projections.MeetingFilter{TeacherID: a.T1}))(t).Items),
			"A's teacher's inbox":         len(must(projections.ListInbox(ctx, db, b.ID, projections.Recipient{Kind: "teacher", ID: a.T1}, projections.InboxFilter{}))(t).Items),
			"A's student's interventions": len(must(projections.ListInterventions(ctx, db, b.ID, projections.InterventionFilter{StudentID: a.S2}))(t).Items),
			"A's class on the board":      len(must(projections.ListAtRisk(ctx, db, b.ID, projections.AtRiskFilter{ClassID: a.C1}))(t).Items),
			"A's class's exams":           len(must(projections.ListExams(ctx, db, b.ID, projections.ExamFilter{ClassID: a.C1}))(t).Items),
		}
		for what, n := range empty {
			if n != 0 {
				t.Errorf("%s in school B: %d rows, want none", what, n)
			}
		}
		// Whole-school lists of B hold B's rows only.
		for _, s := range must(projections.ListStudents(ctx, db, b.ID, projections.StudentFilter{}))(t).Items {
			if s.SchoolID != b.ID {
				t.Errorf("student %s of school %s listed in school B", s.StudentID, s.SchoolID)
			}
		}
		for _, x := range must(projections.ListTeachers(ctx, db, b.ID, projections.TeacherFilter{}))(t).Items {
			if x.SchoolID != b.ID {
				t.Errorf("teacher %s of school %s listed in school B", x.TeacherID, x.SchoolID)
			}
		}
		d := must(projections.GetDashboard(ctx, db, b.ID, 0))(t)
		eq(t, "B's headcounts are B's own", d.Headcounts.Students, 4)
		if _, err := projections.ListStudents(ctx, db, "", projections.StudentFilter{}); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("a query without a school: err = %v, want invalid", err)
		}
	})
}

// TestReadModelsIdempotentAndOrderIndependent feeds the same events
// through the runner three ways, each into a database of its own: in log
// order with every event delivered twice, and in two other interleavings
// of the streams (each stream's order kept), one with redeliveries. The
// read models must come out identical, and again after a rebuild of all
// of them from the store.
func TestReadModelsIdempotentAndOrderIndependent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	regs := map[string]*projections.Registry{
		"log order, twice":         newRegistry(t, w.pool, w.store),
		"interleaved":              newRegistry(t, pgtest.NewPool(t), w.store),
		"interleaved, redelivered": newRegistry(t, pgtest.NewPool(t), w.store),
	}
	w.buildSchool("hillside")
	w.buildSchool("riverside")
	events := readAll(t, w.pool, w.store)

	twice := make([]eventstore.RecordedEvent, 0, 2*len(events))
	for _, e := range events {
		twice = append(twice, e, e)
	}
	deliver(t, regs["log order, twice"], twice)
	deliver(t, regs["interleaved"], interleave(events, 1))
	deliver(t, regs["interleaved, redelivered"], interleave(append(slices.Clone(events), events[:len(events)/2]...), 2))

	want := registrySums(t, regs["log order, twice"])
	if len(want) < 2*len(projections.All()) {
		t.Fatalf("only %d tables checked", len(want))
	}
	for name, reg := range regs {
		if d := diffSums(want, registrySums(t, reg)); d != "" {
			t.Errorf("log order vs %s:\n%s", name, d)
		}
	}

	// And a rebuild of every read model from the store gives them again.
	reg := regs["log order, twice"]
	if _, err := reg.Rebuild(context.Background(), reg.Names(), projections.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := diffSums(want, registrySums(t, reg)); d != "" {
		t.Errorf("live vs rebuilt:\n%s", d)
	}
}

// TestAtRiskBoardWithRiskAssessments applies hand-made risk.assessed.v1
// events straight to the at-risk projection: a student's latest assessment
// is the greatest version of their stream risk-<studentId>, even when two
// assessments share their time to the microsecond or a later one carries
// an earlier time, and the board is the same whatever order the students'
// streams interleave in.
func TestAtRiskBoardWithRiskAssessments(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	p := projectionNamed(t, "at_risk")
	school, s1, s2 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	riskEvent := func(student string, version uint64, level string, score float64, at time.Time) eventstore.RecordedEvent {
		body, _ := json.Marshal(map[string]any{"studentId": student, "level": level, "score": score, "at": at,
			"factors": []map[string]any{{"name": "mathematics_trend", "value": -6.5, "weight": 0.4, "reason": "falling"}}})
		return eventstore.RecordedEvent{ID: uuid.New(), StreamID: "risk-" + student, Version: version, Position: version,
			Type: domain.RiskAssessedType, Data: body, Metadata: eventstore.Metadata{SchoolID: school, ActorID: "saga"}, RecordedAt: at}
	}
	tie := day(1, 9).Add(123456 * time.Microsecond)
	events := []eventstore.RecordedEvent{
		riskEvent(s2, 1, "medium", 0.5, day(0, 9)),
		riskEvent(s1, 1, "high", 0.8, tie),
		riskEvent(s2, 2, "high", 0.9, day(1, 9)),
		riskEvent(s1, 2, "low", 0.2, tie),         // the same instant as s1's first: the version decides
		riskEvent(s2, 3, "high", 0.95, day(0, 8)), // an earlier time (a clock behind): still the latest
	}
	for _, order := range []struct {
		prefix string
		events []eventstore.RecordedEvent
	}{{"rm_", events}, {"alt_", []eventstore.RecordedEvent{events[1], events[3], events[0], events[2], events[4]}}} {
		setupSchemas(t, w.pool, order.prefix, []projections.Projection{p})
		for _, e := range order.events {
			if err := applyEvent(ctx, w.pool, order.prefix, p, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d := diffSums(checksums(t, w.pool, "rm_", []projections.Projection{p}), checksums(t, w.pool, "alt_", []projections.Projection{p})); d != "" {
		t.Errorf("arrival order changed the board:\n%s", d)
	}
	board := must(projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{}))(t)
	eq(t, "board", ids(board.Items, func(x projections.AtRiskStudent) []any {
		return []any{x.StudentID, x.Level, x.LevelSource, *x.Score, len(x.Factors), x.AssessedAt.UTC()}
	}), [][]any{{s2, "high", "assessment", 0.95, 1, day(0, 8)}, {s1, "low", "assessment", 0.2, 1, tie}})
	high := must(projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{Level: "high"}))(t)
	eq(t, "high only", len(high.Items), 1)
	first := must(projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{PageParams: projections.PageParams{Limit: 1}}))(t)
	second := must(projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{PageParams: projections.PageParams{Limit: 1, Cursor: first.NextCursor}}))(t)
	eq(t, "paged", []string{first.Items[0].StudentID, second.Items[0].StudentID, second.NextCursor}, []string{s2, s1, ""})

	bad := riskEvent(s1, 3, "extreme", 1, day(2, 9))
	if err := applyEvent(ctx, w.pool, "rm_", p, bad); err == nil {
		t.Error("a risk level outside low/medium/high was applied")
	}
	elsewhere := riskEvent(s1, 4, "medium", 0.5, day(2, 9))
	elsewhere.StreamID = "risk-" + s2 // s2's next version
	if err := applyEvent(ctx, w.pool, "rm_", p, elsewhere); err == nil {
		t.Error("an assessment of a student outside their risk stream was applied")
	}
}

// TestQueryInputErrors: bad paging and filter input is an invalid error
// naming the field, never a panic or a server error.
func TestQueryInputErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	setupSchemas(t, w.pool, "rm_", projections.All())
	ctx := context.Background()
	school := uuid.NewString()
	cases := map[string]struct {
		field string
		err   error
	}{}
	add := func(name, field string, err error) {
		cases[name] = struct {
			field string
			err   error
		}{field, err}
	}
	_, err := projections.ListStudents(ctx, w.pool, school, projections.StudentFilter{PageParams: projections.PageParams{Limit: -1}})
	add("negative limit", "limit", err)
	_, err = projections.ListStudents(ctx, w.pool, school, projections.StudentFilter{PageParams: projections.PageParams{Limit: 100000}})
	add("huge limit", "limit", err)
	_, err = projections.ListStudents(ctx, w.pool, school, projections.StudentFilter{PageParams: projections.PageParams{Cursor: "!!"}})
	add("garbage cursor", "cursor", err)
	_, err = projections.ListStudents(ctx, w.pool, school, projections.StudentFilter{Status: "asleep"})
	add("student status", "status", err)
	_, err = projections.ListTeachers(ctx, w.pool, school, projections.TeacherFilter{Sort: "age"})
	add("teacher sort", "sort", err)
	_, err = projections.ListMeetings(ctx, w.pool, school, projections.MeetingFilter{From: "yesterday"})
	add("meeting date", "from", err)
	_, err = projections.ListInbox(ctx, w.pool, school, projections.Recipient{Kind: "robot", ID: "x"}, projections.InboxFilter{})
	add("recipient kind", "recipientKind", err)
	_, err = projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{Level: "extreme"})
	add("risk level", "level", err)
	_, err = projections.GetReportCard(ctx, w.pool, school, "s", projections.ReportCardSelector{})
	add("report card selector", "examId", err)
	_, err = projections.GetDashboard(ctx, w.pool, school, -3)
	add("dashboard weeks", "weeks", err)
	_, err = projections.GetRegister(ctx, w.pool, school, "c", "2026-13-01", 1)
	add("register date", "date", err)
	for name, c := range cases {
		var de *domain.Error
		if !errors.As(c.err, &de) || de.Kind != domain.KindInvalid || de.Field != c.field {
			t.Errorf("%s: err = %v, want invalid %s", name, c.err, c.field)
		}
	}
}

func projectionNamed(t *testing.T, name string) projections.Projection {
	t.Helper()
	for _, p := range projections.All() {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("no projection %s", name)
	return nil
}

func ids[T, K any](items []T, key func(T) K) []K {
	out := make([]K, len(items))
	for i, x := range items {
		out[i] = key(x)
	}
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
