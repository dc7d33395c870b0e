package projections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/projections"
)

// TestAtRiskBoardFromRiskAssessedEvents: the at-risk board consumes
// risk.assessed.v1 (ai_services channel) through the runner like any other
// event: assessments made by the AssessRisk command (as the
// student_performance workflow makes them) reach the board, the latest per
// student winning, by its version in the student's risk stream: two
// assessments recorded at the same instant are told apart.
func TestAtRiskBoardFromRiskAssessedEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	reg := newRegistry(t, w.pool, w.store)
	if ch, ok := domain.ChannelOf(domain.RiskAssessedType); !ok || !slices.Contains(projectionNamed(t, "at_risk").Channels(), ch) {
		t.Fatalf("the at-risk board does not consume %s (channel %q, registered %v)", domain.RiskAssessedType, ch, ok)
	}

	school := uuid.NewString()
	platform := commands.Meta{Actor: commands.Actor{ID: "platform", Roles: []commands.Role{commands.RolePlatformAdmin}}}
	admin := commands.Meta{SchoolID: school, Actor: commands.Actor{ID: "admin", Roles: []commands.Role{commands.RoleSchoolAdmin}, SchoolID: school}}
	service := commands.Meta{SchoolID: school, Actor: commands.Actor{ID: "saga:student_performance", Roles: []commands.Role{commands.RoleService}}}
	w.ok(commands.NewRegisterSchoolHandler(w.repo).Handle(ctx, platform, commands.RegisterSchool{SchoolID: school, Name: "Risky", Timezone: "UTC"}))
	enroll := func(name string) string {
		id := uuid.NewString()
		w.ok(commands.NewEnrollStudentHandler(w.repo).Handle(ctx, admin, commands.EnrollStudent{StudentID: id, Name: name,
			DateOfBirth: "2014-01-02", GradeLevel: 7, Guardians: []commands.EnrollStudentGuardian{
				{Name: "Parent of " + name, Email: name + "@family.example.org", Relationship: "parent"}}}))
		return id
	}
	s1, s2 := enroll("ann"), enroll("ben")
	assess := func(student, level string, score float64) {
		w.ok(commands.NewAssessRiskHandler(w.repo).Handle(ctx, service, commands.AssessRisk{StudentID: student, Level: level, Score: score,
			Factors: []domain.RiskFactorInput{{Name: "mathematics_trend", Value: -6.5, Weight: 0.6, Reason: "mathematics fell 6.5 points per assessment"},
				{Name: "attendance_rate", Value: 0.9, Weight: 0.4, Reason: "present at 90% of the last 30 days' register entries"}},
			Basis:  domain.RiskBasis{Subjects: 2, AttendanceRate: 0.9},
			Method: "weighted-factors/v1"}))
	}
	w.now = w.now.Add(time.Second)
	assess(s1, "high", 0.9)
	w.now = w.now.Add(time.Second)
	assess(s2, "high", 0.7)
	assess(s2, "medium", 0.5) // s2's latest, at the same instant as the one before
	w.now = w.now.Add(time.Second)
	assess(s1, "low", 0.2) // s1's latest

	deliver(t, reg, readAll(t, w.pool, w.store))
	board := must(projections.ListAtRisk(ctx, w.pool, school, projections.AtRiskFilter{}))(t)
	eq(t, "board", ids(board.Items, func(x projections.AtRiskStudent) []any {
		return []any{x.Name, x.Level, x.LevelSource, *x.Score, len(x.Factors)}
	}), [][]any{{"ben", "medium", "assessment", 0.5, 2}, {"ann", "low", "assessment", 0.2, 2}})
	eq(t, "factor", board.Items[0].Factors[0], projections.RiskFactor{Name: "mathematics_trend", Value: -6.5, Weight: 0.6,
		Reason: "mathematics fell 6.5 points per assessment"})
	other := must(projections.ListAtRisk(ctx, w.pool, uuid.NewString(), projections.AtRiskFilter{}))(t)
	eq(t, "another school's board", len(other.Items), 0)
}
