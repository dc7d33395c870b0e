package domain_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

func peopleClasses() map[string]domain.ClassInfo {
	return map[string]domain.ClassInfo{
		class7a: {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "history"}},
		class7b: {SchoolID: peopleSchoolA, Subjects: []domain.Subject{"mathematics", "physics"}},
		"c-far": {SchoolID: peopleSchoolB, Subjects: []domain.Subject{"mathematics"}},
	}
}

// weekInput is a valid week: Ada teaches twice on Monday (her maximum) and
// once on Tuesday; 7A and 7B run in parallel.
func weekInput() []domain.TimetableEntryInput {
	return []domain.TimetableEntryInput{
		{ClassID: class7a, Subject: "Mathematics", TeacherID: adaID, Day: "Monday", Period: 1},
		{ClassID: class7b, Subject: "mathematics", TeacherID: maryID, Day: "monday", Period: 1},
		{ClassID: class7a, Subject: "history", TeacherID: hanaID, Day: "monday", Period: 2},
		{ClassID: class7b, Subject: "physics", TeacherID: adaID, Day: "monday", Period: 2},
		{ClassID: class7a, Subject: "mathematics", TeacherID: adaID, Day: "tuesday", Period: 5},
	}
}

func week() []domain.TimetableEntry {
	mon1, mon2 := domain.Slot{Day: domain.Monday, Period: 1}, domain.Slot{Day: domain.Monday, Period: 2}
	return []domain.TimetableEntry{
		{ClassID: class7a, Subject: "mathematics", TeacherID: adaID, Slot: mon1},
		{ClassID: class7b, Subject: "mathematics", TeacherID: maryID, Slot: mon1},
		{ClassID: class7a, Subject: "history", TeacherID: hanaID, Slot: mon2},
		{ClassID: class7b, Subject: "physics", TeacherID: adaID, Slot: mon2},
		{ClassID: class7a, Subject: "mathematics", TeacherID: adaID, Slot: domain.Slot{Day: domain.Tuesday, Period: 5}},
	}
}

func TestTimetable_Publish(t *testing.T) {
	t.Parallel()
	v1 := domain.TimetablePublished{SchoolID: peopleSchoolA, Version: 1, ChangeKind: domain.ChangeMajor,
		Entries: week(), Reason: "new school year", At: peopleAt}
	publish := func(kind string, entries []domain.TimetableEntryInput) func(*domain.Timetable) error {
		return func(tt *domain.Timetable) error {
			return tt.Publish(kind, entries, peopleTeachers(), peopleClasses(), "new school year", peopleAt)
		}
	}
	with := func(i int, edit func(*domain.TimetableEntryInput)) []domain.TimetableEntryInput {
		in := weekInput()
		edit(&in[i])
		return in
	}
	plus := func(e domain.TimetableEntryInput) []domain.TimetableEntryInput { return append(weekInput(), e) }
	runScenarios(t, func() *domain.Timetable { return domain.NewTimetable(peopleSchoolA) }, []scenario[*domain.Timetable]{
		{name: "publishes the first version", when: publish(" Major ", weekInput()), then: []domain.Event{v1}},
		{name: "publishes the next version", given: []domain.Event{v1},
			when: func(tt *domain.Timetable) error {
				return tt.Publish("minor", weekInput()[:2], peopleTeachers(), peopleClasses(), "", peopleLater)
			},
			then: []domain.Event{domain.TimetablePublished{SchoolID: peopleSchoolA, Version: 2, ChangeKind: domain.ChangeMinor,
				Entries: week()[:2], At: peopleLater}}},
		{name: "rejects a missing change kind", when: publish("", weekInput()), thenKind: domain.KindInvalid, thenField: "changeKind"},
		{name: "rejects an unknown change kind", when: publish("huge", weekInput()), thenKind: domain.KindInvalid, thenField: "changeKind"},
		{name: "rejects an overlong reason", thenKind: domain.KindInvalid, thenField: "reason",
			when: func(tt *domain.Timetable) error {
				return tt.Publish("minor", weekInput(), peopleTeachers(), peopleClasses(), strings.Repeat("r", 501), peopleAt)
			}},
		{name: "rejects no entries", when: publish("minor", nil),
			thenErr: domain.ErrNoEntries, thenKind: domain.KindInvalid, thenField: "entries"},
		{name: "rejects a missing class", when: publish("minor", with(1, func(e *domain.TimetableEntryInput) { e.ClassID = "" })),
			thenKind: domain.KindInvalid, thenField: "entries[1].classId"},
		{name: "rejects a missing subject", when: publish("minor", with(2, func(e *domain.TimetableEntryInput) { e.Subject = " " })),
			thenKind: domain.KindInvalid, thenField: "entries[2].subject"},
		{name: "rejects a missing teacher", when: publish("minor", with(3, func(e *domain.TimetableEntryInput) { e.TeacherID = "" })),
			thenKind: domain.KindInvalid, thenField: "entries[3].teacherId"},
		{name: "rejects an unknown day", when: publish("minor", with(0, func(e *domain.TimetableEntryInput) { e.Day = "funday" })),
			thenKind: domain.KindInvalid, thenField: "entries[0].slot.day"},
		{name: "rejects period zero", when: publish("minor", with(0, func(e *domain.TimetableEntryInput) { e.Period = 0 })),
			thenKind: domain.KindInvalid, thenField: "entries[0].slot.period"},
		{name: "rejects a period after the last", when: publish("minor", with(4, func(e *domain.TimetableEntryInput) { e.Period = domain.MaxPeriod + 1 })),
			thenKind: domain.KindInvalid, thenField: "entries[4].slot.period"},
		{name: "rejects an unknown class", when: publish("minor", with(1, func(e *domain.TimetableEntryInput) { e.ClassID = "c-nowhere" })),
			thenErr: domain.ErrUnknownClass, thenKind: domain.KindInvalid, thenField: "entries[1].classId"},
		{name: "rejects a class of another school", when: publish("minor", with(1, func(e *domain.TimetableEntryInput) { e.ClassID = "c-far" })),
			thenErr: domain.ErrUnknownClass, thenKind: domain.KindInvalid, thenField: "entries[1].classId"},
		{name: "rejects a subject the class is not taught", when: publish("minor", with(0, func(e *domain.TimetableEntryInput) { e.Subject = "physics" })),
			thenErr: domain.ErrSubjectNotInClass, thenKind: domain.KindInvalid, thenField: "entries[0].subject"},
		{name: "rejects an unknown teacher", when: publish("minor", with(1, func(e *domain.TimetableEntryInput) { e.TeacherID = "t-nobody" })),
			thenErr: domain.ErrUnknownTeacher, thenKind: domain.KindInvalid, thenField: "entries[1].teacherId"},
		{name: "rejects a teacher of another school", when: publish("minor", with(2, func(e *domain.TimetableEntryInput) { e.TeacherID = "t-far" })),
			thenErr: domain.ErrUnknownTeacher, thenKind: domain.KindInvalid, thenField: "entries[2].teacherId"},
		{name: "rejects a deactivated teacher", when: publish("minor", with(2, func(e *domain.TimetableEntryInput) { e.TeacherID = omarID })),
			thenErr: domain.ErrTeacherInactive, thenKind: domain.KindConflict, thenField: "entries[2].teacherId"},
		{name: "rejects a teacher who does not teach the subject", when: publish("minor", with(2, func(e *domain.TimetableEntryInput) { e.TeacherID = maryID })),
			thenErr: domain.ErrSubjectNotTaught, thenKind: domain.KindInvalid, thenField: "entries[2].teacherId"},
		{name: "rejects a class with two lessons in one slot",
			when:    publish("minor", plus(domain.TimetableEntryInput{ClassID: class7b, Subject: "physics", TeacherID: maryID, Day: "monday", Period: 1})),
			thenErr: domain.ErrClassClash, thenKind: domain.KindInvalid, thenField: "entries[5].slot"},
		{name: "rejects the same lesson listed twice",
			when:    publish("minor", plus(weekInput()[4])),
			thenErr: domain.ErrClassClash, thenKind: domain.KindInvalid, thenField: "entries[5].slot"},
		{name: "rejects a teacher in two places in one slot",
			when:    publish("minor", with(1, func(e *domain.TimetableEntryInput) { e.TeacherID = adaID })),
			thenErr: domain.ErrTeacherClash, thenKind: domain.KindInvalid, thenField: "entries[1].slot"},
		{name: "rejects a teacher over their classes per day",
			when:    publish("minor", plus(domain.TimetableEntryInput{ClassID: class7b, Subject: "physics", TeacherID: adaID, Day: "monday", Period: 9})),
			thenErr: domain.ErrTeacherOverloaded, thenKind: domain.KindInvalid, thenField: "entries[5].slot"},
	})
}

func TestTimetable_PublishWithoutSchool(t *testing.T) {
	t.Parallel()
	tt := domain.NewTimetable("")
	err := tt.Publish("minor", weekInput(), peopleTeachers(), peopleClasses(), "", peopleAt)
	assertRejected(t, err, nil, domain.KindInvalid, "schoolId")
}

func TestTimetable_State(t *testing.T) {
	t.Parallel()
	tt := domain.NewTimetable(peopleSchoolA)
	if tt.Exists() || tt.CurrentVersion() != 0 || len(tt.Entries()) != 0 {
		t.Fatal("a blank timetable has content")
	}
	if got, want := tt.StreamID(), "timetable-"+peopleSchoolA; got != want {
		t.Errorf("StreamID() = %q, want %q", got, want)
	}
	tt = domain.Rehydrate(domain.NewTimetable(peopleSchoolA), []domain.Event{
		domain.TimetablePublished{SchoolID: peopleSchoolA, Version: 1, ChangeKind: domain.ChangeMajor, Entries: week()[:1], At: peopleAt},
		domain.TimetablePublished{SchoolID: peopleSchoolA, Version: 2, ChangeKind: domain.ChangeMinor, Entries: week(), Reason: "r", At: peopleLater},
	}, 2)
	if !tt.Exists() || tt.CurrentVersion() != 2 || tt.ChangeKind() != domain.ChangeMinor || tt.Reason() != "r" ||
		!tt.PublishedAt().Equal(peopleLater) || tt.SchoolID() != peopleSchoolA {
		t.Fatalf("unexpected state: %+v", tt)
	}
	if !reflect.DeepEqual(tt.Entries(), week()) {
		t.Errorf("Entries() = %v", tt.Entries())
	}
	mon1 := domain.Slot{Day: domain.Monday, Period: 1}
	if !tt.TeacherBusy(adaID, mon1) || tt.TeacherBusy(hanaID, mon1) {
		t.Error("TeacherBusy is wrong")
	}
	if !tt.ClassBusy(class7b, mon1) || tt.ClassBusy(class7b, domain.Slot{Day: domain.Friday, Period: 1}) {
		t.Error("ClassBusy is wrong")
	}
	wantSlots := []domain.Slot{mon1, {Day: domain.Monday, Period: 2}, {Day: domain.Tuesday, Period: 5}}
	if got := tt.TeacherSlots(adaID); !reflect.DeepEqual(got, wantSlots) {
		t.Errorf("TeacherSlots(ada) = %v, want %v", got, wantSlots)
	}
	if got := tt.TeacherSlots("t-nobody"); len(got) != 0 {
		t.Errorf("TeacherSlots(nobody) = %v", got)
	}
	if got := tt.TeacherLoad(adaID, domain.Monday); got != 2 {
		t.Errorf("TeacherLoad(ada, monday) = %d", got)
	}
	if got := tt.ClassTeachers(class7a); !reflect.DeepEqual(got, []string{adaID, hanaID}) {
		t.Errorf("ClassTeachers(7a) = %v", got)
	}
	// EntriesInput lets a command publish a changed copy as the next version.
	if err := tt.Publish("minor", tt.EntriesInput(), peopleTeachers(), peopleClasses(), "", peopleLater); err != nil {
		t.Fatal(err)
	}
	if got := tt.Changes()[0].(domain.TimetablePublished); got.Version != 3 || !reflect.DeepEqual(got.Entries, week()) {
		t.Errorf("republished %+v", got)
	}
	if tt.CurrentVersion() != 3 || tt.Version() != 2 {
		t.Errorf("after publishing: CurrentVersion %d (want 3), stream Version %d (want 2, the loaded one)", tt.CurrentVersion(), tt.Version())
	}
}

func TestCheckTimetable_Pure(t *testing.T) {
	t.Parallel()
	// A scheduler checks candidates with the same rules as Publish.
	if err := domain.CheckTimetable("candidate", peopleSchoolA, week(), peopleTeachers(), peopleClasses()); err != nil {
		t.Fatalf("a valid week is rejected: %v", err)
	}
	bad := append(week(), domain.TimetableEntry{ClassID: class7b, Subject: "physics", TeacherID: maryID, Slot: domain.Slot{Day: domain.Tuesday, Period: 5}})
	bad[5].TeacherID = adaID
	err := domain.CheckTimetable("candidate", peopleSchoolA, bad, peopleTeachers(), peopleClasses())
	assertRejected(t, err, domain.ErrTeacherClash, domain.KindInvalid, "candidate[5].slot")
	// The same week is unknown to another school.
	err = domain.CheckTimetable("candidate", peopleSchoolB, week(), peopleTeachers(), peopleClasses())
	assertRejected(t, err, domain.ErrUnknownClass, domain.KindInvalid, "candidate[0].classId")
}

func TestChangeKindFromString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]domain.ChangeKind{"minor": domain.ChangeMinor, " MAJOR ": domain.ChangeMajor} {
		if got, err := domain.ChangeKindFromString("changeKind", in); err != nil || got != want {
			t.Errorf("ChangeKindFromString(%q) = %q, %v", in, got, err)
		}
	}
	if k, err := domain.ChangeKindFromString("changeKind", "patch"); err == nil || !k.IsZero() {
		t.Errorf("ChangeKindFromString(patch) = %q, %v", k, err)
	}
}

func TestCompareSlots(t *testing.T) {
	t.Parallel()
	slots := []domain.Slot{{Day: domain.Friday, Period: 1}, {Day: domain.Monday, Period: 7}, {Day: domain.Monday, Period: 2}, {Day: domain.Sunday, Period: 1}}
	want := []domain.Slot{{Day: domain.Monday, Period: 2}, {Day: domain.Monday, Period: 7}, {Day: domain.Friday, Period: 1}, {Day: domain.Sunday, Period: 1}}
	sorted := slices.Clone(slots)
	slices.SortFunc(sorted, domain.CompareSlots)
	if !reflect.DeepEqual(sorted, want) {
		t.Errorf("sorted = %v, want %v", sorted, want)
	}
}
