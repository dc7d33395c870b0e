package commands_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestDeactivateTeacher(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := commands.NewDeactivateTeacherHandler(f.repo)
	ada := f.teacher("ada@example.org", 4, "mathematics")

	t.Run("a teacher may not, not even themself", func(t *testing.T) {
		_, err := h.Handle(ctx, f.teacherMeta(ada), commands.DeactivateTeacher{TeacherID: ada})
		wantForbidden(t, err)
	})
	t.Run("a reason too long names the field", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.DeactivateTeacher{TeacherID: ada, Reason: strings.Repeat("x", 501)})
		wantErr(t, err, domain.KindInvalid, "reason", nil)
	})
	t.Run("the school admin deactivates", func(t *testing.T) {
		res, err := h.Handle(ctx, f.admin(), commands.DeactivateTeacher{TeacherID: ada, Reason: "moved away"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"teacher.created.v1", "teacher.deactivated.v1"}
		if got := f.events(res.Stream); !slices.Equal(got, want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
	})
	t.Run("twice is a conflict", func(t *testing.T) {
		_, err := h.Handle(ctx, f.admin(), commands.DeactivateTeacher{TeacherID: ada})
		wantErr(t, err, domain.KindConflict, "", domain.ErrTeacherInactive)
	})
	t.Run("a deactivated teacher keeps no preferences to update", func(t *testing.T) {
		_, err := commands.NewUpdateTeacherPreferencesHandler(f.repo).Handle(ctx, f.teacherMeta(ada),
			commands.UpdateTeacherPreferences{TeacherID: ada, Preferences: domain.PreferencesInput{MaxClassesPerDay: 2}})
		wantErr(t, err, domain.KindConflict, "", domain.ErrTeacherInactive)
	})
	t.Run("a deactivated teacher gets no class", func(t *testing.T) {
		_, err := commands.NewCreateClassHandler(f.repo).Handle(ctx, f.admin(), commands.CreateClass{
			ClassID: "c-1", Name: "5A", GradeLevel: 5, Capacity: 20, Subjects: []domain.ClassSubjectInput{subject("mathematics", ada)}})
		wantErr(t, err, domain.KindConflict, "subjects[0].teacherId", domain.ErrTeacherInactive)
	})
	t.Run("another school's teacher is not found", func(t *testing.T) {
		other := f.otherSchool()
		theirs := f.teacherIn(other, "grace@example.org", 4, "physics")
		_, err := h.Handle(ctx, f.admin(), commands.DeactivateTeacher{TeacherID: theirs})
		wantErr(t, err, domain.KindNotFound, "", domain.ErrTeacherNotFound)
	})
}
