package commands_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

func TestAssignStudentToClass(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewAssignStudentToClassHandler(f.repo)
	fiveA := f.class("5A", 5, 2, subject("mathematics", ""))
	fiveB := f.class("5B", 5, 1, subject("mathematics", ""))
	sixA := f.class("6A", 6, 30, subject("mathematics", ""))
	tom := f.student("Tom", 5, "polly@example.org")
	huck := f.student("Huck", 5, "finn@example.org")
	roster := func(classID string) []string {
		t.Helper()
		c, _, err := commands.Load(ctx, f.repo, domain.NewClass(classID))
		if err != nil {
			t.Fatal(err)
		}
		return c.Roster()
	}
	classOf := func(studentID string) string {
		t.Helper()
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(studentID))
		if err != nil {
			t.Fatal(err)
		}
		return s.ClassID()
	}

	t.Run("into a first class", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: tom, ClassID: fiveA})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != tom || res.Stream != "student-"+tom || res.Version != 2 {
			t.Fatalf("result = %+v, want the student's", res)
		}
		if got := f.events(res.Stream); !slices.Equal(got, []string{"student.enrolled.v1", "student.assigned_to_class.v1"}) {
			t.Fatalf("student events = %v", got)
		}
		if got := f.events("class-" + fiveA); !slices.Equal(got, []string{"class.created.v1", "class.student_added.v1"}) {
			t.Fatalf("class events = %v", got)
		}
	})
	t.Run("into the same class again changes nothing", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: tom, ClassID: fiveA})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v; want version 2", res, err)
		}
		if got := f.events("class-" + fiveA); len(got) != 2 {
			t.Fatalf("class events = %v", got)
		}
	})
	t.Run("moving leaves the old class's roster", func(t *testing.T) {
		if _, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: tom, ClassID: fiveB}); err != nil {
			t.Fatal(err)
		}
		if got := roster(fiveA); len(got) != 0 {
			t.Fatalf("5A roster = %v, want empty", got)
		}
		if got := roster(fiveB); !slices.Equal(got, []string{tom}) {
			t.Fatalf("5B roster = %v, want [%s]", got, tom)
		}
		if got := classOf(tom); got != fiveB {
			t.Fatalf("student's class = %s, want 5B", got)
		}
		want := []string{"class.created.v1", "class.student_added.v1", "class.student_removed.v1"}
		if got := f.events("class-" + fiveA); !slices.Equal(got, want) {
			t.Fatalf("5A events = %v, want %v", got, want)
		}
	})
	t.Run("a full class", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: huck, ClassID: fiveB})
		wantErr(t, err, domain.KindConflict, "", domain.ErrClassFull)
		if classOf(huck) != "" {
			t.Fatal("the student was assigned anyway")
		}
	})
	t.Run("a class of another grade level", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: huck, ClassID: sixA})
		wantErr(t, err, domain.KindConflict, "studentId", domain.ErrGradeLevelMismatch)
	})
	t.Run("a withdrawn student", func(t *testing.T) {
		becky := f.student("Becky", 5, "thatcher@example.org")
		if _, err := commands.NewWithdrawStudentHandler(f.repo).Handle(ctx, f.admin(), commands.WithdrawStudent{StudentID: becky}); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: becky, ClassID: fiveA})
		wantErr(t, err, domain.KindConflict, "studentId", domain.ErrStudentWithdrawn)
		if got := roster(fiveA); len(got) != 0 {
			t.Fatalf("5A roster = %v", got)
		}
	})
	t.Run("a stale If-Match changes nothing", func(t *testing.T) {
		m := f.admin()
		stale := uint64(1)
		m.ExpectedVersion = &stale
		_, err := h.Handle(ctx, m, commands.AssignStudentToClass{StudentID: tom, ClassID: fiveA})
		if !errors.Is(err, eventstore.ErrVersionConflict) {
			t.Fatalf("err = %v, want a version conflict", err)
		}
		if got := roster(fiveA); len(got) != 0 {
			t.Fatalf("5A roster = %v, want untouched", got)
		}
	})
	t.Run("a move that stopped half-way completes when retried", func(t *testing.T) {
		// Given Huck on 5A's roster without being assigned to it, as if the
		// command had failed after its first write.
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(huck))
		if err != nil {
			t.Fatal(err)
		}
		_, err = commands.Update(ctx, f.repo, f.admin(), func() *domain.Class { return domain.NewClass(fiveA) },
			func(c *domain.Class) error { return c.AddStudent(s.Info(), f.now) })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: huck, ClassID: fiveA}); err != nil {
			t.Fatal(err)
		}
		if got := roster(fiveA); !slices.Equal(got, []string{huck}) || classOf(huck) != fiveA {
			t.Fatalf("5A roster = %v, Huck's class = %s", got, classOf(huck))
		}
	})

	other := f.otherSchool()
	theirClass := f.classIn(other, "5Z", 5, 30, subject("mathematics", ""))
	theirStudent := f.studentIn(other, "Jim", 5, "jim@example.org")
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.AssignStudentToClass
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"another school's class is not found", f.admin(), commands.AssignStudentToClass{StudentID: huck, ClassID: theirClass},
			domain.KindNotFound, "", domain.ErrClassNotFound},
		{"another school's student is not found", f.admin(), commands.AssignStudentToClass{StudentID: theirStudent, ClassID: fiveA},
			domain.KindNotFound, "", domain.ErrStudentNotFound},
		{"a teacher may not", f.as("t-1", commands.RoleTeacher), commands.AssignStudentToClass{StudentID: huck, ClassID: fiveB},
			domain.KindForbidden, "-", nil},
		{"a missing class ID", f.admin(), commands.AssignStudentToClass{StudentID: huck}, domain.KindInvalid, "classId", nil},
		{"a missing student ID", f.admin(), commands.AssignStudentToClass{ClassID: fiveA}, domain.KindInvalid, "studentId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events("class-" + theirClass); len(got) != 1 {
		t.Fatalf("their class's events = %v, want untouched", got)
	}

	// Two moves racing from the class the student is in: the one that
	// assigns second finds the student changed and starts over from the
	// class the first one put them in.
	t.Run("racing moves leave the student on one roster only", func(t *testing.T) {
		x := f.class("5X", 5, 30, subject("mathematics", ""))
		y := f.class("5Y", 5, 30, subject("mathematics", ""))
		z := f.class("5Z", 5, 30, subject("mathematics", ""))
		becky := f.student("Amy", 5, "lawrence@example.org")
		f.assign(becky, x)
		for round := range 4 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, to := range []string{y, z} {
				if round%2 == 1 { // one of them to the class the student is in
					to = []string{x, y}[i]
				}
				wg.Go(func() {
					_, errs[i] = h.Handle(ctx, f.admin(), commands.AssignStudentToClass{StudentID: becky, ClassID: to})
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil && !errors.Is(err, commands.ErrConcurrentUpdate) {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			in := classOf(becky)
			for _, c := range []string{x, y, z} {
				if on := slices.Contains(roster(c), becky); on != (c == in) {
					t.Fatalf("round %d: student in %s, on roster of %s: %v", round, in, c, on)
				}
			}
		}
	})
}
