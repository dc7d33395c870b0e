package sagas

import (
	"fmt"
	"strings"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
)

// The texts of the ai_intervention_workflow notifications: the opening,
// escalation and closing come from package drafting; the few the
// templates do not cover (no teacher to assign, reminders to the office,
// a low risk told to the owner of an intervention opened by hand) are
// here. Deterministic: the same facts give the same text.

// ivNames is what the texts show of the people and places involved.
type ivNames struct {
	School, Student, Class, Teacher string
}

func ivNamesOf(school string, s *domain.Student, c *domain.Class, teacher string) ivNames {
	n := ivNames{School: school, Teacher: teacher}
	if s != nil {
		n.Student = s.Name()
	}
	if c != nil {
		n.Class = c.Name()
	}
	return n
}

func (n ivNames) student() string {
	if n.Student != "" {
		return n.Student
	}
	return "the student"
}

// ivGuardianPlan is the plan as guardians read it: each item's lead, not
// the analysis' factor names and figures.
func ivGuardianPlan(plan []string) []string {
	out := make([]string, len(plan))
	for i, p := range plan {
		head, _, _ := strings.Cut(p, " (factor ")
		out[i] = head
	}
	return out
}

func ivOpened(n ivNames, reason string, plan []string, due domain.Date) drafting.Intervention {
	return drafting.Intervention{SchoolName: n.School, StudentName: n.Student, ClassName: n.Class, TeacherName: n.Teacher,
		RiskLevel: domain.RiskHigh, Reason: reason, Plan: plan, FollowUpDue: due}
}

// ivNoTeacherNotice tells the administrators no teacher can be assigned.
func ivNoTeacherNotice(n ivNames, e domain.RiskAssessed, why string) (subject, body string) {
	subject = fmt.Sprintf("High risk for %s: no teacher to assign an intervention to", n.student())
	body = fmt.Sprintf("The risk analysis found %s at high risk (score %.2f) on %s: %s.\n\n"+
		"No intervention could be opened: %s. Please assign the student to a class with teachers, or open an "+
		"intervention by hand.\n", n.student(), e.Score, domain.DateOf(e.At), ivFactorDigest(e.Factors), why)
	return subject, body
}

// ivReminderNotice reminds the administrators of an escalated
// intervention still without a follow-up.
func ivReminderNotice(st ivState, n ivNames, reason string) (subject, body string) {
	subject = fmt.Sprintf("Reminder: intervention for %s still without a follow-up", n.student())
	teacher := n.Teacher
	if teacher == "" {
		teacher = "teacher " + st.AssignedTo
	}
	body = fmt.Sprintf("A reminder about the intervention for %s, assigned to %s and escalated to you already: %s.\n\n"+
		"Please check with %s, then record a follow-up or close the intervention. Reminders stop after %d notices "+
		"in a row.\n", n.student(), teacher, reason, teacher, ivMaxEscalations)
	return subject, body
}

// ivRiskDownForOwner tells the teacher of an intervention opened by hand
// that the risk is now low.
func ivRiskDownForOwner(n ivNames, note string) (subject, body string) {
	subject = fmt.Sprintf("Risk now low for %s, whose intervention you lead", n.student())
	body = fmt.Sprintf("%s\n\nThe intervention was opened by hand, so it stays open until you or an administrator close it: "+
		"close it when you agree %s is back on track.\n", note, n.student())
	return subject, body
}
