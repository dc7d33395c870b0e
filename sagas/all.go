package sagas

// All returns the school workflows, the one list serve runs (and the
// system tests, by default). Each name is its consumer group: keep them.
func All(d Deps) []Saga {
	return []Saga{
		NewTeacherOnboarding(d),
		NewStudentPerformance(d),
		NewInterventionWorkflow(d),
		NewStudentEnrollment(d),
		NewExamCycle(d),
		NewParentTeacherMeeting(d),
		NewSystemMaintenance(d),
	}
}
