package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestPublishTimetable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewPublishTimetableHandler(f.repo)
	ada := f.teacher("ada@example.org", 2, "mathematics")
	alan := f.teacher("alan@example.org", 4, "physics", "mathematics")
	fiveA := f.class("5A", 5, 30, subject("mathematics", ada), subject("physics", alan))
	fiveB := f.class("5B", 5, 30, subject("mathematics", ""), subject("physics", ""))
	other := f.otherSchool()
	theirTeacher := f.teacherIn(other, "grace@example.org", 4, "physics")
	theirClass := f.classIn(other, "5Z", 5, 30, subject("physics", ""))
	lesson := func(class, subj, teacher, day string, period int) domain.TimetableEntryInput {
		return domain.TimetableEntryInput{ClassID: class, Subject: subj, TeacherID: teacher, Day: day, Period: period}
	}
	week := []domain.TimetableEntryInput{
		lesson(fiveA, "mathematics", ada, "monday", 1),
		lesson(fiveA, "physics", alan, "monday", 2),
		lesson(fiveB, "mathematics", ada, "monday", 2),
		lesson(fiveB, "physics", alan, "tuesday", 1),
	}
	current := func() *domain.Timetable {
		t.Helper()
		tt, _, err := commands.Load(ctx, f.repo, domain.NewTimetable(f.school))
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}

	t.Run("a first version", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.PublishTimetable{ChangeKind: "major", Entries: week})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stream != "timetable-"+f.school || res.Version != 1 {
			t.Fatalf("result = %+v", res)
		}
		if got := f.events(res.Stream); !slices.Equal(got, []string{"timetable.published.v1"}) {
			t.Fatalf("events = %v", got)
		}
		if tt := current(); tt.CurrentVersion() != 1 || len(tt.Entries()) != 4 {
			t.Fatalf("timetable version %d with %d entries", tt.CurrentVersion(), len(tt.Entries()))
		}
	})
	t.Run("the next publication is the next version", func(t *testing.T) {
		moved := slices.Clone(week)
		moved[3] = lesson(fiveB, "physics", alan, "wednesday", 3)
		res, err := h.Handle(ctx, f.admin(), commands.PublishTimetable{ChangeKind: "minor", Reason: "lab closed on Tuesdays", Entries: moved})
		if err != nil {
			t.Fatal(err)
		}
		tt := current()
		if res.Version != 2 || tt.CurrentVersion() != 2 || tt.ChangeKind() != domain.ChangeMinor || !tt.ClassBusy(fiveB, domain.Slot{Day: domain.Wednesday, Period: 3}) {
			t.Fatalf("result %+v, timetable version %d (%s)", res, tt.CurrentVersion(), tt.ChangeKind())
		}
	})

	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.PublishTimetable
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"a teacher in two classes at once", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "mathematics", ada, "monday", 1), lesson(fiveB, "mathematics", ada, "monday", 1)}},
			domain.KindInvalid, "entries[1].slot", domain.ErrTeacherClash},
		{"a teacher over their classes per day", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "mathematics", ada, "friday", 1), lesson(fiveB, "mathematics", ada, "friday", 2), lesson(fiveA, "mathematics", ada, "friday", 5)}},
			domain.KindInvalid, "entries[2].slot", domain.ErrTeacherOverloaded},
		{"a class twice in one slot", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "mathematics", ada, "monday", 1), lesson(fiveA, "physics", alan, "monday", 1)}},
			domain.KindInvalid, "entries[1].slot", domain.ErrClassClash},
		{"another school's class is unknown", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "mathematics", ada, "monday", 1), lesson(theirClass, "physics", alan, "monday", 2)}},
			domain.KindInvalid, "entries[1].classId", domain.ErrUnknownClass},
		{"another school's teacher is unknown", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "physics", theirTeacher, "monday", 1)}},
			domain.KindInvalid, "entries[0].teacherId", domain.ErrUnknownTeacher},
		{"a missing class is unknown", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson("no-such-class", "physics", alan, "monday", 1)}},
			domain.KindInvalid, "entries[0].classId", domain.ErrUnknownClass},
		{"a subject the class is not taught", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "history", alan, "monday", 1)}},
			domain.KindInvalid, "entries[0].subject", domain.ErrSubjectNotInClass},
		{"a day that is no day", f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: []domain.TimetableEntryInput{
			lesson(fiveA, "mathematics", ada, "someday", 1)}},
			domain.KindInvalid, "entries[0].slot.day", nil},
		{"no entries", f.admin(), commands.PublishTimetable{ChangeKind: "minor"}, domain.KindInvalid, "entries", domain.ErrNoEntries},
		{"an unknown change kind", f.admin(), commands.PublishTimetable{ChangeKind: "huge", Entries: week}, domain.KindInvalid, "changeKind", nil},
		{"a teacher may not", f.teacherMeta(ada), commands.PublishTimetable{ChangeKind: "minor", Entries: week}, domain.KindForbidden, "-", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}
	t.Run("a deactivated teacher", func(t *testing.T) {
		if _, err := commands.NewDeactivateTeacherHandler(f.repo).Handle(ctx, f.admin(), commands.DeactivateTeacher{TeacherID: alan}); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, f.admin(), commands.PublishTimetable{ChangeKind: "minor", Entries: week})
		wantErr(t, err, domain.KindConflict, "entries[1].teacherId", domain.ErrTeacherInactive)
	})
	if v := current().CurrentVersion(); v != 2 {
		t.Fatalf("timetable version = %d after rejections, want 2", v)
	}
}
