package sagas

import (
	"slices"
	"testing"
)

// TestAllListsEveryWorkflow: serve runs the seven workflows of the
// product brief, under their constant names (their consumer groups).
func TestAllListsEveryWorkflow(t *testing.T) {
	t.Parallel()
	want := []string{"ai_intervention_workflow", "exam_cycle_complete", "parent_teacher_meeting", "student_enrollment_complete",
		"student_performance", "system_maintenance", "teacher_onboarding"}
	var names []string
	for _, s := range All(Deps{Settings: DefaultSettings()}) {
		names = append(names, s.Name())
		if len(s.Channels()) == 0 {
			t.Errorf("%s consumes no channel", s.Name())
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("All() = %v, want %v", names, want)
	}
}
