package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestAmendAttendance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewAmendAttendanceHandler(f.repo)
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
	const day = "2026-10-30"
	_, err := commands.NewRecordAttendanceHandler(f.repo).Handle(ctx, f.teacherMeta(ada), commands.RecordAttendance{
		ClassID: fiveA, Date: day, Period: 3, Entries: []domain.AttendanceEntryInput{present(tom), present(huck)}})
	if err != nil {
		t.Fatalf("given register: %v", err)
	}
	stream := registerStream(t, fiveA, day, 3)
	absent := func(studentID string) domain.AttendanceEntryInput {
		return domain.AttendanceEntryInput{StudentID: studentID, Status: "absent"}
	}

	t.Run("a teacher of the class corrects a line", func(t *testing.T) {
		res, err := h.Handle(ctx, f.teacherMeta(ada), commands.AmendAttendance{ClassID: fiveA, Date: day, Period: 3,
			Entries: []domain.AttendanceEntryInput{present(tom), {StudentID: huck, Status: "excused", Note: "doctor"}}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"attendance.recorded.v1", "attendance.amended.v1"}
		if got := f.events(stream); !slices.Equal(got, want) || res.Stream != stream || res.Version != 2 {
			t.Fatalf("events = %v (result %+v), want %v", got, res, want)
		}
	})
	t.Run("an amendment changing nothing raises nothing", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.AmendAttendance{ClassID: fiveA, Date: day, Period: 3,
			Entries: []domain.AttendanceEntryInput{present(tom)}})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v; want version 2", res, err)
		}
	})
	t.Run("a student who left the class since can still be corrected", func(t *testing.T) {
		fiveC := f.class("5C", 5, 30, subject("art", ""))
		f.assign(huck, fiveC)
		_, err := h.Handle(ctx, f.admin(), commands.AmendAttendance{ClassID: fiveA, Date: day, Period: 3,
			Entries: []domain.AttendanceEntryInput{absent(huck)}})
		if err != nil {
			t.Fatal(err)
		}
	})

	amend := commands.AmendAttendance{ClassID: fiveA, Date: day, Period: 3, Entries: []domain.AttendanceEntryInput{absent(tom)}}
	with := func(change func(*commands.AmendAttendance)) commands.AmendAttendance {
		c := amend
		c.Entries = slices.Clone(amend.Entries)
		change(&c)
		return c
	}
	theirClass := f.classIn(f.otherSchool(), "5Z", 5, 30, subject("physics", ""))
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.AmendAttendance
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a register never taken", f.teacherMeta(ada), with(func(c *commands.AmendAttendance) { c.Period = 4 }),
			domain.KindNotFound, "", domain.ErrRegisterNotFound},
		{"a teacher of another class may not", f.teacherMeta(alan), amend, domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as(commands.GuardianID(f.school, "polly@example.org"), commands.RoleGuardian), amend,
			domain.KindForbidden, "-", nil},
		{"a student of another class", f.teacherMeta(ada), with(func(c *commands.AmendAttendance) { c.Entries[0] = absent(becky) }),
			domain.KindInvalid, "entries[0].studentId", domain.ErrNotOnRoster},
		{"a period out of range", f.teacherMeta(ada), with(func(c *commands.AmendAttendance) { c.Period = 11 }),
			domain.KindInvalid, "period", nil},
		{"a date that is no date", f.teacherMeta(ada), with(func(c *commands.AmendAttendance) { c.Date = "yesterday" }),
			domain.KindInvalid, "date", nil},
		{"another school's class is not found", f.admin(), with(func(c *commands.AmendAttendance) { c.ClassID = theirClass }),
			domain.KindNotFound, "", domain.ErrClassNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	if got := f.events(stream); len(got) != 3 {
		t.Fatalf("events = %v after rejections, want 3", got)
	}
}
