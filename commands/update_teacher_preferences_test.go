package commands_test

import (
	"context"
	"slices"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestUpdateTeacherPreferences(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewUpdateTeacherPreferencesHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")
	grace := f.teacher("grace@example.org", 4, "physics")
	prefs := domain.PreferencesInput{PreferredTimeSlots: []string{"afternoon", "morning"}, MaxClassesPerDay: 5}

	t.Run("the school admin updates them", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: prefs})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != ada || res.Version != 2 {
			t.Fatalf("result = %+v", res)
		}
		want := []string{"teacher.created.v1", "teacher.preferences_updated.v1"}
		if got := f.events("teacher-" + ada); !slices.Equal(got, want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
	})
	t.Run("unchanged preferences raise nothing", func(t *testing.T) {
		same := domain.PreferencesInput{PreferredTimeSlots: []string{"morning", "afternoon"}, MaxClassesPerDay: 5}
		res, err := h.Handle(ctx, f.admin(), commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: same})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v; want version 2", res, err)
		}
	})
	t.Run("the teacher updates their own", func(t *testing.T) {
		p := domain.PreferencesInput{PreferredTimeSlots: []string{"late"}, MaxClassesPerDay: 3}
		res, err := h.Handle(ctx, f.teacherMeta(grace), commands.UpdateTeacherPreferences{TeacherID: grace, Preferences: p})
		if err != nil || res.Version != 2 {
			t.Fatalf("result = %+v, %v; want version 2", res, err)
		}
	})

	noon := domain.PreferencesInput{PreferredTimeSlots: []string{"noon"}, MaxClassesPerDay: 2}
	tests := []struct {
		name     string
		m        commands.Meta
		cmd      commands.UpdateTeacherPreferences
		kind     domain.Kind
		field    string
		sentinel error
	}{
		{"another teacher may not", f.teacherMeta(grace), commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: prefs},
			domain.KindForbidden, "-", nil},
		{"a guardian may not", f.as("g-1", commands.RoleGuardian), commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: prefs},
			domain.KindForbidden, "-", nil},
		{"invalid preferences name the field", f.admin(), commands.UpdateTeacherPreferences{TeacherID: ada},
			domain.KindInvalid, "preferences.maxClassesPerDay", nil},
		{"an unknown time slot names its index", f.teacherMeta(ada), commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: noon},
			domain.KindInvalid, "preferences.preferredTimeSlots[0]", nil},
		{"a missing teacher ID", f.admin(), commands.UpdateTeacherPreferences{Preferences: prefs},
			domain.KindInvalid, "teacherId", nil},
		{"an unknown teacher is not found", f.admin(), commands.UpdateTeacherPreferences{TeacherID: "no-such-teacher", Preferences: prefs},
			domain.KindNotFound, "", domain.ErrTeacherNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tc.m, tc.cmd)
			wantErr(t, err, tc.kind, tc.field, tc.sentinel)
		})
	}

	t.Run("another school's teacher is not found", func(t *testing.T) {
		other := f.otherSchool()
		theirs := f.teacherIn(other, "ada@example.org", 4, "mathematics")
		_, err := h.Handle(ctx, f.admin(), commands.UpdateTeacherPreferences{TeacherID: theirs, Preferences: prefs})
		wantErr(t, err, domain.KindNotFound, "-", domain.ErrTeacherNotFound)
		if got := f.events("teacher-" + theirs); len(got) != 1 {
			t.Fatalf("their teacher's events = %v, want untouched", got)
		}
	})
}
