package commands_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestRecordPerformance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewRecordPerformanceHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")
	alan := f.teacher("alan@example.org", 4, "physics")
	fiveA := f.class("5A", 5, 30, subject("mathematics", ada))
	fiveB := f.class("5B", 5, 30, subject("physics", alan))
	tom := f.student("Tom", 5, "polly@example.org")
	huck := f.student("Huck", 5, "finn@example.org")
	becky := f.student("Becky", 5, "thatcher@example.org")
	f.assign(tom, fiveA)
	f.assign(huck, fiveB)
	grade := func(studentID string) commands.RecordPerformance {
		return commands.RecordPerformance{StudentID: studentID, AssessmentID: uuid.NewString(), Subject: "Mathematics",
			Grade: 72.5, AssessmentType: "quiz", AssessedAt: f.now.Add(-time.Hour)}
	}
	recordedBy := func(studentID, assessmentID string) string {
		t.Helper()
		p, _, err := commands.Load(ctx, f.repo, domain.NewPerformance(studentID))
		if err != nil {
			t.Fatal(err)
		}
		a, ok := p.Assessment(assessmentID)
		if !ok {
			t.Fatalf("assessment %s not on the record", assessmentID)
		}
		return a.RecordedBy
	}

	first := grade(tom)
	t.Run("the school admin records a grade", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), first)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stream != "performance-"+tom || res.ID != tom || res.Version != 1 {
			t.Fatalf("result = %+v", res)
		}
		if got := f.events(res.Stream); !slices.Equal(got, []string{"performance.recorded.v1"}) {
			t.Fatalf("events = %v", got)
		}
		if by := recordedBy(tom, first.AssessmentID); by != "admin-1" {
			t.Fatalf("recorded by %q, want the actor", by)
		}
	})
	t.Run("a teacher of the student's class records a grade", func(t *testing.T) {
		cmd := grade(tom)
		if _, err := h.Handle(ctx, f.teacherMeta(ada), cmd); err != nil {
			t.Fatal(err)
		}
		if by := recordedBy(tom, cmd.AssessmentID); by != ada {
			t.Fatalf("recorded by %q, want %s", by, ada)
		}
	})

	theirs := f.studentIn(f.otherSchool(), "Jim", 5, "jim@example.org")
	with := func(change func(*commands.RecordPerformance)) commands.RecordPerformance {
		c := grade(tom)
		change(&c)
		return c
	}
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.RecordPerformance
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a teacher of another class may not", f.teacherMeta(ada), grade(huck), domain.KindForbidden, "-", nil},
		{"a teacher may not grade a student without a class", f.teacherMeta(ada), grade(becky), domain.KindForbidden, "-", nil},
		{"the student's guardian may not", f.as(commands.GuardianID(f.school, "polly@example.org"), commands.RoleGuardian), grade(tom),
			domain.KindForbidden, "-", nil},
		{"another school's student is not found", f.admin(), grade(theirs), domain.KindNotFound, "", domain.ErrStudentNotFound},
		{"the same assessment again", f.admin(), first, domain.KindConflict, "assessmentId", domain.ErrAssessmentExists},
		{"a grade over 100", f.admin(), with(func(c *commands.RecordPerformance) { c.Grade = 100.5 }), domain.KindInvalid, "grade", nil},
		{"an unknown assessment type", f.admin(), with(func(c *commands.RecordPerformance) { c.AssessmentType = "oral" }),
			domain.KindInvalid, "assessmentType", nil},
		{"an assessment in the future", f.teacherMeta(ada), with(func(c *commands.RecordPerformance) { c.AssessedAt = f.now.Add(time.Hour) }),
			domain.KindInvalid, "assessedAt", nil},
		{"no subject", f.admin(), with(func(c *commands.RecordPerformance) { c.Subject = " " }), domain.KindInvalid, "subject", nil},
		{"a missing student ID", f.admin(), with(func(c *commands.RecordPerformance) { c.StudentID = "" }), domain.KindInvalid, "studentId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events("performance-" + tom); len(got) != 2 {
		t.Fatalf("events = %v after rejections, want 2", got)
	}
}
