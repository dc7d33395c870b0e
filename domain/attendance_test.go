package domain_test

import (
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const attClass = "class-7"

var attRoster = []string{"s1", "s2", "s3"}

func attRegisterID() string { return domain.AttendanceRegisterID(attClass, acToday, 3) }

func attInput() domain.AttendanceInput {
	return domain.AttendanceInput{
		SchoolID: acSchool,
		ClassID:  attClass,
		Date:     acToday,
		Period:   3,
		Entries: []domain.AttendanceEntryInput{
			{StudentID: "s1", Status: "present"},
			{StudentID: "s2", Status: " Late ", Note: " bus was late "},
			{StudentID: "s3", Status: "absent"},
		},
		Roster:     attRoster,
		RecordedBy: "teacher-1",
	}
}

func attRecorded() domain.AttendanceRecorded {
	return domain.AttendanceRecorded{
		RegisterID: attRegisterID(),
		SchoolID:   acSchool,
		ClassID:    attClass,
		Date:       acToday,
		Period:     3,
		Entries: []domain.AttendanceEntry{
			{StudentID: "s1", Status: domain.AttendancePresent},
			{StudentID: "s2", Status: domain.AttendanceLate, Note: "bus was late"},
			{StudentID: "s3", Status: domain.AttendanceAbsent},
		},
		RecordedBy: "teacher-1",
		At:         acNow,
	}
}

func TestAttendanceRegisterID(t *testing.T) {
	t.Parallel()
	if got := domain.AttendanceRegisterID("class-7", acDate(t, "2026-11-28"), 3); got != "class-7-2026-11-28-p3" {
		t.Errorf("register id = %q", got)
	}
	if got := domain.NewAttendanceRegister("r1").StreamID(); got != "attendance-r1" {
		t.Errorf("stream = %q", got)
	}
}

func TestAttendanceRecord(t *testing.T) {
	t.Parallel()
	record := func(in domain.AttendanceInput) func(*domain.AttendanceRegister) error {
		return func(r *domain.AttendanceRegister) error { return r.Record(in, acNow) }
	}

	t.Run("takes the register", func(t *testing.T) {
		t.Parallel()
		r := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			when(record(attInput())).
			then(attRecorded())
		if !r.Taken() || r.SchoolID() != acSchool || r.ClassID() != attClass || !r.Date().Equal(acToday) || r.Period() != 3 {
			t.Errorf("register state: taken %v %s %s %s %d", r.Taken(), r.SchoolID(), r.ClassID(), r.Date(), r.Period())
		}
		if e, ok := r.Entry("s2"); !ok || e.Status != domain.AttendanceLate {
			t.Errorf("Entry(s2) = %+v, %v", e, ok)
		}
	})

	t.Run("a partial register is fine", func(t *testing.T) {
		t.Parallel()
		in := attInput()
		in.Entries = in.Entries[:1]
		want := attRecorded()
		want.Entries = want.Entries[:1]
		academic(t, domain.NewAttendanceRegister(attRegisterID())).when(record(in)).then(want)
	})

	// The domain does not know the school's zone: a date that has begun
	// somewhere on earth (UTC+14) is not in the future.
	t.Run("tomorrow in UTC is today east of the date line", func(t *testing.T) {
		t.Parallel()
		in := attInput()
		in.Date = acToday.AddDays(1)
		want := attRecorded()
		want.Date = in.Date
		want.RegisterID = domain.AttendanceRegisterID(attClass, in.Date, 3)
		academic(t, domain.NewAttendanceRegister(want.RegisterID)).when(record(in)).then(want)
	})

	t.Run("a register is taken once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(record(attInput())).
			thenErr(domain.ErrRegisterAlreadyTaken)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("only students on the roster", func(t *testing.T) {
		t.Parallel()
		in := attInput()
		in.Entries[1].StudentID = "stranger"
		err := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			when(record(in)).
			thenErr(domain.ErrNotOnRoster)
		if err.Field != "entries[1].studentId" || err.Kind != domain.KindInvalid {
			t.Errorf("error = %s about %q", err.Kind, err.Field)
		}
	})
}

func TestAttendanceRecordRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*domain.AttendanceInput)
		field string
	}{
		{"no school", func(in *domain.AttendanceInput) { in.SchoolID = "" }, "schoolId"},
		{"no class", func(in *domain.AttendanceInput) { in.ClassID = "" }, "classId"},
		{"no date", func(in *domain.AttendanceInput) { in.Date = domain.Date{} }, "date"},
		{"date in the future", func(in *domain.AttendanceInput) { in.Date = acToday.AddDays(2) }, "date"},
		{"period 0", func(in *domain.AttendanceInput) { in.Period = 0 }, "period"},
		{"period past the last", func(in *domain.AttendanceInput) { in.Period = domain.MaxPeriod + 1 }, "period"},
		{"another slot's register", func(in *domain.AttendanceInput) { in.Period = 4 }, ""},
		{"no entries", func(in *domain.AttendanceInput) { in.Entries = nil }, "entries"},
		{"entry without student", func(in *domain.AttendanceInput) { in.Entries[0].StudentID = "" }, "entries[0].studentId"},
		{"entry without status", func(in *domain.AttendanceInput) { in.Entries[2].Status = "" }, "entries[2].status"},
		{"unknown status", func(in *domain.AttendanceInput) { in.Entries[1].Status = "sick" }, "entries[1].status"},
		{"note too long", func(in *domain.AttendanceInput) { in.Entries[0].Note = strings.Repeat("x", 501) }, "entries[0].note"},
		{"student twice", func(in *domain.AttendanceInput) { in.Entries[2].StudentID = "s1" }, "entries[2].studentId"},
		{"no recorder", func(in *domain.AttendanceInput) { in.RecordedBy = " " }, "recordedBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := attInput()
			tt.edit(&in)
			academic(t, domain.NewAttendanceRegister(attRegisterID())).
				when(func(r *domain.AttendanceRegister) error { return r.Record(in, acNow) }).
				thenInvalid(tt.field)
		})
	}
}

func TestAttendanceAmend(t *testing.T) {
	t.Parallel()
	amend := func(in domain.AttendanceAmendment) func(*domain.AttendanceRegister) error {
		return func(r *domain.AttendanceRegister) error { return r.Amend(in, acNow) }
	}
	amended := func(entries ...domain.AttendanceEntry) domain.AttendanceAmended {
		return domain.AttendanceAmended{
			RegisterID: attRegisterID(), SchoolID: acSchool, ClassID: attClass, Date: acToday, Period: 3,
			Entries: entries, AmendedBy: "teacher-2", At: acNow,
		}
	}

	t.Run("records only the lines that change", func(t *testing.T) {
		t.Parallel()
		r := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(amend(domain.AttendanceAmendment{
				Entries: []domain.AttendanceEntryInput{
					{StudentID: "s1", Status: "present"},                        // unchanged
					{StudentID: "s3", Status: "excused", Note: "doctor's note"}, // corrected
				},
				Roster:    attRoster,
				AmendedBy: "teacher-2",
			})).
			then(amended(domain.AttendanceEntry{StudentID: "s3", Status: domain.AttendanceExcused, Note: "doctor's note"}))
		want := []domain.AttendanceEntry{
			{StudentID: "s1", Status: domain.AttendancePresent},
			{StudentID: "s2", Status: domain.AttendanceLate, Note: "bus was late"},
			{StudentID: "s3", Status: domain.AttendanceExcused, Note: "doctor's note"},
		}
		if got := r.Entries(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("entries = %+v, want %+v", got, want)
		}
	})

	t.Run("adds a student who joined the roster", func(t *testing.T) {
		t.Parallel()
		r := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(amend(domain.AttendanceAmendment{
				Entries:   []domain.AttendanceEntryInput{{StudentID: "s4", Status: "present"}},
				Roster:    append(attRoster, "s4"),
				AmendedBy: "teacher-2",
			})).
			then(amended(domain.AttendanceEntry{StudentID: "s4", Status: domain.AttendancePresent}))
		if n := len(r.Entries()); n != 4 {
			t.Errorf("%d entries, want 4", n)
		}
	})

	t.Run("corrects a student who has left the class since", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(amend(domain.AttendanceAmendment{
				Entries:   []domain.AttendanceEntryInput{{StudentID: "s2", Status: "present"}},
				Roster:    []string{"s1", "s3"},
				AmendedBy: "teacher-2",
			})).
			then(amended(domain.AttendanceEntry{StudentID: "s2", Status: domain.AttendancePresent}))
	})

	t.Run("an amendment that changes nothing raises nothing", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(amend(domain.AttendanceAmendment{
				Entries:   []domain.AttendanceEntryInput{{StudentID: "s2", Status: "late", Note: "bus was late"}},
				Roster:    attRoster,
				AmendedBy: "teacher-2",
			})).
			then()
	})

	t.Run("only students of the register or the roster", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			given(attRecorded()).
			when(amend(domain.AttendanceAmendment{
				Entries:   []domain.AttendanceEntryInput{{StudentID: "s1", Status: "absent"}, {StudentID: "s9", Status: "absent"}},
				Roster:    attRoster,
				AmendedBy: "teacher-2",
			})).
			thenErr(domain.ErrNotOnRoster)
		if err.Field != "entries[1].studentId" {
			t.Errorf("field = %q", err.Field)
		}
	})

	t.Run("a register not taken cannot be amended", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewAttendanceRegister(attRegisterID())).
			when(amend(domain.AttendanceAmendment{
				Entries:   []domain.AttendanceEntryInput{{StudentID: "s1", Status: "absent"}},
				Roster:    attRoster,
				AmendedBy: "teacher-2",
			})).
			thenErr(domain.ErrRegisterNotFound)
		if err.Kind != domain.KindNotFound {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	for _, tt := range []struct {
		name  string
		in    domain.AttendanceAmendment
		field string
	}{
		{"no entries", domain.AttendanceAmendment{Roster: attRoster, AmendedBy: "t"}, "entries"},
		{"bad status", domain.AttendanceAmendment{
			Entries: []domain.AttendanceEntryInput{{StudentID: "s1", Status: "gone"}}, Roster: attRoster, AmendedBy: "t",
		}, "entries[0].status"},
		{"student twice", domain.AttendanceAmendment{
			Entries:   []domain.AttendanceEntryInput{{StudentID: "s1", Status: "late"}, {StudentID: "s1", Status: "absent"}},
			Roster:    attRoster,
			AmendedBy: "t",
		}, "entries[1].studentId"},
		{"no amender", domain.AttendanceAmendment{
			Entries: []domain.AttendanceEntryInput{{StudentID: "s1", Status: "late"}}, Roster: attRoster,
		}, "amendedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewAttendanceRegister(attRegisterID())).
				given(attRecorded()).
				when(amend(tt.in)).
				thenInvalid(tt.field)
		})
	}
}

func TestAttendanceStatusFromString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"present", "absent", "late", "excused", "PRESENT"} {
		if st, err := domain.AttendanceStatusFromString("status", s); err != nil || st.IsZero() {
			t.Errorf("%q: %v, %v", s, st, err)
		}
	}
	if _, err := domain.AttendanceStatusFromString("status", "away"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("away: %v", err)
	}
}
