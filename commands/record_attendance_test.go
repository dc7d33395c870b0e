package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

// registerStream is the stream of a class's register for a date and period.
func registerStream(t *testing.T, classID, date string, period int) string {
	t.Helper()
	d, err := domain.ParseDate("date", date)
	if err != nil {
		t.Fatal(err)
	}
	return "attendance-" + domain.AttendanceRegisterID(classID, d, period)
}

func present(studentID string) domain.AttendanceEntryInput {
	return domain.AttendanceEntryInput{StudentID: studentID, Status: "present"}
}

func TestRecordAttendance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewRecordAttendanceHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")
	alan := f.teacher("alan@example.org", 4, "physics")
	fiveA := f.class("5A", 5, 30, subject("mathematics", ada))
	fiveB := f.class("5B", 5, 30, subject("physics", alan))
	tom := f.student("Tom", 5, "polly@example.org")
	huck := f.student("Huck", 5, "finn@example.org")
	becky := f.student("Becky", 5, "thatcher@example.org")
	f.assign(tom, fiveA)
	f.assign(huck, fiveA)
	f.assign(becky, fiveB)
	const today = "2026-11-02"
	register := commands.RecordAttendance{ClassID: fiveA, Date: today, Period: 1, Entries: []domain.AttendanceEntryInput{
		present(tom), {StudentID: huck, Status: "Late", Note: "bus"},
	}}

	t.Run("a teacher of the class takes the register", func(t *testing.T) {
		m := f.teacherMeta(ada)
		m.CommandID = "register-1"
		res, err := h.Handle(ctx, m, register)
		if err != nil {
			t.Fatal(err)
		}
		if want := registerStream(t, fiveA, today, 1); res.Stream != want || res.Version != 1 {
			t.Fatalf("result = %+v, want stream %s", res, want)
		}
		if got := f.events(res.Stream); !slices.Equal(got, []string{"attendance.recorded.v1"}) {
			t.Fatalf("events = %v", got)
		}
		again, err := h.Handle(ctx, m, register)
		if err != nil || again != res {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, res)
		}
	})
	t.Run("a register already taken is a conflict", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), register)
		wantErr(t, err, domain.KindConflict, "", domain.ErrRegisterAlreadyTaken)
	})
	t.Run("the school admin takes another period's", func(t *testing.T) {
		cmd := register
		cmd.Period = 2
		res, err := h.Handle(ctx, f.admin(), cmd)
		if err != nil || res.Stream != registerStream(t, fiveA, today, 2) {
			t.Fatalf("result = %+v, %v", res, err)
		}
	})

	with := func(change func(*commands.RecordAttendance)) commands.RecordAttendance {
		c := register
		c.Period = 5
		c.Entries = slices.Clone(register.Entries)
		change(&c)
		return c
	}
	theirClass := f.classIn(f.otherSchool(), "5Z", 5, 30, subject("physics", ""))
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.RecordAttendance
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a teacher of another class may not", f.teacherMeta(alan), with(func(*commands.RecordAttendance) {}), domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as(commands.GuardianID(f.school, "polly@example.org"), commands.RoleGuardian),
			with(func(*commands.RecordAttendance) {}), domain.KindForbidden, "-", nil},
		{"a student of another class", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Entries[1] = present(becky) }),
			domain.KindInvalid, "entries[1].studentId", domain.ErrNotOnRoster},
		{"an unknown status", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Entries[0].Status = "asleep" }),
			domain.KindInvalid, "entries[0].status", nil},
		{"a student listed twice", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Entries[1] = present(tom) }),
			domain.KindInvalid, "entries[1].studentId", nil},
		{"no entries", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Entries = nil }), domain.KindInvalid, "entries", nil},
		{"a date that is no date", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Date = "2 Nov 2026" }),
			domain.KindInvalid, "date", nil},
		{"a date in the future", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Date = "2026-11-09" }),
			domain.KindInvalid, "date", nil},
		{"a period out of range", f.teacherMeta(ada), with(func(c *commands.RecordAttendance) { c.Period = 0 }),
			domain.KindInvalid, "period", nil},
		{"another school's class is not found", f.admin(), with(func(c *commands.RecordAttendance) { c.ClassID = theirClass }),
			domain.KindNotFound, "", domain.ErrClassNotFound},
		{"a missing class ID", f.admin(), with(func(c *commands.RecordAttendance) { c.ClassID = "" }),
			domain.KindInvalid, "classId", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events(registerStream(t, fiveA, today, 5)); len(got) != 0 {
		t.Fatalf("events = %v after rejections, want none", got)
	}
}
