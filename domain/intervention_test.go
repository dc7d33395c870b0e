package domain_test

import (
	"strings"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
)

const ivID = "iv-1"

func ivInput() domain.InterventionInput {
	return domain.InterventionInput{
		SchoolID:    acSchool,
		StudentID:   "student-1",
		Reason:      " mathematics average fell from 71 to 48 over three assessments ",
		Plan:        []string{"weekly tutoring", " review homework with guardian "},
		AssignedTo:  "teacher-1",
		FollowUpDue: acToday.AddDays(14),
		RiskLevel:   "High",
		OpenedBy:    "service-risk",
	}
}

func ivOpened() domain.InterventionOpened {
	return domain.InterventionOpened{
		InterventionID: ivID,
		SchoolID:       acSchool,
		StudentID:      "student-1",
		Reason:         "mathematics average fell from 71 to 48 over three assessments",
		Plan:           []string{"weekly tutoring", "review homework with guardian"},
		AssignedTo:     "teacher-1",
		FollowUpDue:    acToday.AddDays(14),
		RiskLevel:      domain.RiskHigh,
		OpenedBy:       "service-risk",
		At:             acNow,
	}
}

func ivFollowedUp(next domain.Date) domain.InterventionFollowUpRecorded {
	return domain.InterventionFollowUpRecorded{
		InterventionID: ivID, SchoolID: acSchool, StudentID: "student-1",
		Note: "tutoring started", NextFollowUpDue: next, RecordedBy: "teacher-1", At: acNow,
	}
}

func ivClosed() domain.InterventionClosed {
	return domain.InterventionClosed{
		InterventionID: ivID, SchoolID: acSchool, StudentID: "student-1",
		Outcome: domain.OutcomeResolved, ClosedBy: "teacher-1", At: acNow,
	}
}

func TestInterventionOpen(t *testing.T) {
	t.Parallel()
	open := func(in domain.InterventionInput) func(*domain.Intervention) error {
		return func(iv *domain.Intervention) error { return iv.Open(in, acNow) }
	}

	t.Run("opens", func(t *testing.T) {
		t.Parallel()
		iv := academic(t, domain.NewIntervention(ivID)).when(open(ivInput())).then(ivOpened())
		if iv.Status() != domain.InterventionStatusOpen || iv.StudentID() != "student-1" || iv.AssignedTo() != "teacher-1" ||
			!iv.FollowUpDue().Equal(acToday.AddDays(14)) || iv.RiskLevel() != domain.RiskHigh || iv.SchoolID() != acSchool {
			t.Errorf("state: %s %s %s %s %s", iv.Status(), iv.StudentID(), iv.AssignedTo(), iv.FollowUpDue(), iv.RiskLevel())
		}
		if iv.StreamID() != "intervention-iv-1" || len(iv.Plan()) != 2 || iv.Reason() == "" {
			t.Errorf("stream %s, plan %v, reason %q", iv.StreamID(), iv.Plan(), iv.Reason())
		}
	})

	t.Run("the risk level is optional", func(t *testing.T) {
		t.Parallel()
		in := ivInput()
		in.RiskLevel = ""
		want := ivOpened()
		want.RiskLevel = ""
		academic(t, domain.NewIntervention(ivID)).when(open(in)).then(want)
	})

	t.Run("opens once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewIntervention(ivID)).given(ivOpened()).when(open(ivInput())).
			thenErr(domain.ErrInterventionExists)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	tests := []struct {
		name  string
		id    string
		edit  func(*domain.InterventionInput)
		field string
	}{
		{"no id", "", func(*domain.InterventionInput) {}, "interventionId"},
		{"no school", ivID, func(in *domain.InterventionInput) { in.SchoolID = "" }, "schoolId"},
		{"no student", ivID, func(in *domain.InterventionInput) { in.StudentID = "" }, "studentId"},
		{"no reason", ivID, func(in *domain.InterventionInput) { in.Reason = " " }, "reason"},
		{"reason too long", ivID, func(in *domain.InterventionInput) { in.Reason = strings.Repeat("x", 1001) }, "reason"},
		{"no plan", ivID, func(in *domain.InterventionInput) { in.Plan = nil }, "plan"},
		{"blank step", ivID, func(in *domain.InterventionInput) { in.Plan = []string{"a", ""} }, "plan[1]"},
		{"step too long", ivID, func(in *domain.InterventionInput) { in.Plan = []string{strings.Repeat("x", 501)} }, "plan[0]"},
		{"too many steps", ivID, func(in *domain.InterventionInput) { in.Plan = make([]string, 21) }, "plan"},
		{"not assigned", ivID, func(in *domain.InterventionInput) { in.AssignedTo = "" }, "assignedTo"},
		{"no follow-up date", ivID, func(in *domain.InterventionInput) { in.FollowUpDue = domain.Date{} }, "followUpDue"},
		{"follow-up in the past", ivID, func(in *domain.InterventionInput) { in.FollowUpDue = acToday.AddDays(-2) }, "followUpDue"},
		{"unknown risk level", ivID, func(in *domain.InterventionInput) { in.RiskLevel = "extreme" }, "riskLevel"},
		{"no opener", ivID, func(in *domain.InterventionInput) { in.OpenedBy = "" }, "openedBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := ivInput()
			tt.edit(&in)
			academic(t, domain.NewIntervention(tt.id)).when(open(in)).thenInvalid(tt.field)
		})
	}
}

func TestInterventionRecordFollowUp(t *testing.T) {
	t.Parallel()
	followUp := func(note string, next domain.Date, by string) func(*domain.Intervention) error {
		return func(iv *domain.Intervention) error { return iv.RecordFollowUp(note, next, by, acNow) }
	}

	t.Run("with a next follow-up date", func(t *testing.T) {
		t.Parallel()
		next := acToday.AddDays(7)
		iv := academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
			when(followUp(" tutoring started ", next, "teacher-1")).
			then(ivFollowedUp(next))
		if !iv.FollowUpDue().Equal(next) || len(iv.FollowUps()) != 1 || iv.FollowUps()[0].Note != "tutoring started" {
			t.Errorf("due %s, follow-ups %+v", iv.FollowUpDue(), iv.FollowUps())
		}
	})

	t.Run("without one nothing more is due", func(t *testing.T) {
		t.Parallel()
		iv := academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
			when(followUp("tutoring started", domain.Date{}, "teacher-1")).
			then(ivFollowedUp(domain.Date{}))
		if !iv.FollowUpDue().IsZero() || iv.Status() != domain.InterventionStatusOpen {
			t.Errorf("due %s, status %s", iv.FollowUpDue(), iv.Status())
		}
	})

	t.Run("not on a closed intervention", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivClosed()).
			when(followUp("late note", domain.Date{}, "teacher-1")).
			thenErr(domain.ErrInterventionClosed)
	})

	t.Run("not on one never opened", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewIntervention(ivID)).
			when(followUp("note", domain.Date{}, "teacher-1")).
			thenErr(domain.ErrInterventionNotFound)
		if err.Kind != domain.KindNotFound {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	for _, tt := range []struct {
		name, note string
		next       domain.Date
		by, field  string
	}{
		{"no note", "", domain.Date{}, "teacher-1", "note"},
		{"note too long", strings.Repeat("x", 2001), domain.Date{}, "teacher-1", "note"},
		{"next date in the past", "note", acToday.AddDays(-3), "teacher-1", "nextFollowUpDue"},
		{"no author", "note", domain.Date{}, "", "recordedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
				when(followUp(tt.note, tt.next, tt.by)).
				thenInvalid(tt.field)
		})
	}
}

func TestInterventionClose(t *testing.T) {
	t.Parallel()
	closeWith := func(outcome, note, by string) func(*domain.Intervention) error {
		return func(iv *domain.Intervention) error { return iv.Close(outcome, note, by, acNow) }
	}

	t.Run("closes with an outcome", func(t *testing.T) {
		t.Parallel()
		want := ivClosed()
		want.Outcome, want.Note = domain.OutcomeEscalated, "referred to the counsellor"
		iv := academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivFollowedUp(acToday.AddDays(7))).
			when(closeWith("Escalated", "referred to the counsellor ", "teacher-1")).
			then(want)
		if iv.Status() != domain.InterventionStatusClosed || iv.Outcome() != domain.OutcomeEscalated || !iv.FollowUpDue().IsZero() {
			t.Errorf("status %s, outcome %s, due %s", iv.Status(), iv.Outcome(), iv.FollowUpDue())
		}
	})

	t.Run("closes once", func(t *testing.T) {
		t.Parallel()
		err := academic(t, domain.NewIntervention(ivID)).given(ivOpened(), ivClosed()).
			when(closeWith("resolved", "", "teacher-1")).
			thenErr(domain.ErrInterventionClosed)
		if err.Kind != domain.KindConflict {
			t.Errorf("kind = %s", err.Kind)
		}
	})

	t.Run("not one never opened", func(t *testing.T) {
		t.Parallel()
		academic(t, domain.NewIntervention(ivID)).
			when(closeWith("resolved", "", "teacher-1")).
			thenErr(domain.ErrInterventionNotFound)
	})

	for _, tt := range []struct{ name, outcome, note, by, field string }{
		{"no outcome", "", "", "teacher-1", "outcome"},
		{"unknown outcome", "abandoned", "", "teacher-1", "outcome"},
		{"note too long", "resolved", strings.Repeat("x", 2001), "teacher-1", "note"},
		{"no closer", "resolved", "", "", "closedBy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			academic(t, domain.NewIntervention(ivID)).given(ivOpened()).
				when(closeWith(tt.outcome, tt.note, tt.by)).
				thenInvalid(tt.field)
		})
	}
}

func TestInterventionEnumerations(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"low", "medium", "HIGH"} {
		if r, err := domain.RiskLevelFromString("riskLevel", s); err != nil || r.IsZero() {
			t.Errorf("risk %q: %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"open", "closed"} {
		if st, err := domain.InterventionStatusFromString("status", s); err != nil || st.IsZero() {
			t.Errorf("status %q: %v, %v", s, st, err)
		}
	}
	for _, s := range []string{"resolved", "escalated", "withdrawn"} {
		if o, err := domain.InterventionOutcomeFromString("outcome", s); err != nil || o.IsZero() {
			t.Errorf("outcome %q: %v, %v", s, o, err)
		}
	}
	for _, err := range []error{
		func() error { _, err := domain.RiskLevelFromString("riskLevel", "none"); return err }(),
		func() error { _, err := domain.InterventionStatusFromString("status", "paused"); return err }(),
		func() error { _, err := domain.InterventionOutcomeFromString("outcome", ""); return err }(),
	} {
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("error %v, want invalid", err)
		}
	}
}
