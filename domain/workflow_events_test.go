package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

// The events the workflows (issue 5) added: stored names never change, and
// each is on its channel.
func TestWorkflowEventsAreRegisteredOnTheirChannels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		registered, name string
		channel          domain.Channel
	}{
		{domain.RiskAssessedType, "risk.assessed.v1", domain.ChannelAIServices},
		{domain.InterventionEscalatedType, "intervention.escalated.v1", domain.ChannelAIServices},
		{domain.GuardianInvitedType, "guardian.invited.v1", domain.ChannelAuth},
		{domain.TeacherOnboardedType, "teacher.onboarded.v1", domain.ChannelTeacher},
		{domain.MaintenanceScheduledType, "maintenance.scheduled.v1", domain.ChannelSystem},
		{domain.MaintenanceStartedType, "maintenance.started.v1", domain.ChannelSystem},
		{domain.MaintenanceEndedType, "maintenance.ended.v1", domain.ChannelSystem},
		{domain.MaintenanceCancelledType, "maintenance.cancelled.v1", domain.ChannelSystem},
		{domain.MeetingNoShowType, "meeting.no_show.v1", domain.ChannelCommunication},
		{domain.ExamResultsAnalyzedType, "exam.results_analyzed.v1", domain.ChannelPerformance},
	} {
		if tt.registered != tt.name {
			t.Errorf("event type %q: stored names never change, want %q", tt.registered, tt.name)
		}
		if got, ok := domain.ChannelOf(tt.name); !ok || got != tt.channel {
			t.Errorf("ChannelOf(%s) = %q, %v; want %q", tt.name, got, ok, tt.channel)
		}
	}
}

// Every one carries its school (the platform's for maintenance) and its
// time under the public names.
func TestWorkflowEventsCarrySchoolAndTime(t *testing.T) {
	t.Parallel()
	for _, e := range []domain.Event{
		domain.RiskAssessed{SchoolID: acSchool, At: acNow},
		domain.InterventionEscalated{SchoolID: acSchool, At: acNow},
		domain.GuardianInvited{SchoolID: acSchool, At: acNow},
		domain.TeacherOnboarded{SchoolID: acSchool, At: acNow},
		domain.MeetingNoShow{SchoolID: acSchool, At: acNow},
		domain.ExamResultsAnalyzed{SchoolID: acSchool, At: acNow},
		mtScheduled(), mtStarted(acNow), mtEnded(acNow), mtCancelled(acNow),
	} {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatal(err)
		}
		if body["schoolId"] == "" || body["schoolId"] == nil || body["at"] != "2026-11-28T10:00:00Z" {
			t.Errorf("%s: body %s lacks schoolId or at", e.EventType(), data)
		}
	}
}
