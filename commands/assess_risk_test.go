package commands_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
)

func TestAssessRisk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	h := commands.NewAssessRiskHandler(f.repo)
	ctx := context.Background()
	assessment := func(studentID string, edit func(*commands.AssessRisk)) commands.AssessRisk {
		cmd := commands.AssessRisk{StudentID: studentID, Level: "high", Score: 0.82,
			Factors: []domain.RiskFactorInput{
				{Name: "mathematics_trend", Value: -6.5, Weight: 0.6, Reason: "mathematics fell 6.5 points per assessment"},
				{Name: "attendance_rate", Value: 0.7, Weight: 0.4, Reason: "present at 70% of the last 30 days' lessons"},
			},
			Basis: domain.RiskBasis{AssessmentID: "a-1", Subjects: 2, AttendanceRate: 0.7,
				AttendanceFrom: sceneDate("2026-10-03"), AttendanceTo: sceneDate("2026-11-02")},
			Method: "weighted-factors/v1"}
		if edit != nil {
			edit(&cmd)
		}
		return cmd
	}

	t.Run("recorded by", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a workflow":       f.service(),
			"a platform admin": f.platform(),
		} {
			t.Run(name, func(t *testing.T) {
				student := f.student("risk "+name, 7, uuid.NewString()+"@family.example.org")
				res, err := h.Handle(ctx, m, assessment(student, nil))
				if err != nil {
					t.Fatal(err)
				}
				if res.ID != student || res.Stream != "risk-"+student || res.Version != 1 {
					t.Fatalf("result = %+v", res)
				}
				r, _, err := commands.Load(ctx, f.repo, domain.NewRiskProfile(student))
				if err != nil || r.Level() != domain.RiskHigh || r.Score() != 0.82 || r.SchoolID() != f.school {
					t.Fatalf("profile: %v %s %v %s", err, r.Level(), r.Score(), r.SchoolID())
				}
			})
		}
	})

	t.Run("a second assessment names the first one's level", func(t *testing.T) {
		if _, err := h.Handle(ctx, f.service(), assessment(sc.S2, nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Handle(ctx, f.service(), assessment(sc.S2, func(c *commands.AssessRisk) { c.Level, c.Score = "low", 0.1 })); err != nil {
			t.Fatal(err)
		}
		recs, err := f.store.ReadStream(ctx, "risk-"+sc.S2, 0, 0)
		if err != nil || len(recs) != 2 {
			t.Fatalf("stream: %v, %d events", err, len(recs))
		}
		e, err := domain.DecodeEvent(recs[1].Type, recs[1].Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.(domain.RiskAssessed); got.Level != domain.RiskLow || got.PreviousLevel != domain.RiskHigh {
			t.Fatalf("second assessment: %+v", got)
		}
		if recs[1].Metadata.SchoolID != f.school || recs[1].Metadata.ActorRole != "service" {
			t.Fatalf("metadata: %+v", recs[1].Metadata)
		}
	})

	t.Run("the same command twice appends once", func(t *testing.T) {
		expectOnce[commands.AssessRisk](t, f, h, f.service(), assessment(sc.S3, nil), domain.RiskAssessedType)
	})

	t.Run("forbidden", func(t *testing.T) {
		for name, m := range map[string]commands.Meta{
			"a school admin":              f.admin(),
			"the student's teacher":       f.teacherAs(sc.T1),
			"the student's guardian":      f.guardianAs(sc.G1),
			"a service of another school": f.foreignService(),
			"another school's admin":      f.foreignAdmin(),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := h.Handle(ctx, m, assessment(sc.S1, nil))
				expectForbidden(t, err)
			})
		}
		f.expectEvents(t, "risk-"+sc.S1)
	})

	t.Run("rejected", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			edit     func(*commands.AssessRisk)
			kind     domain.Kind
			field    string
			sentinel error
		}{
			{"another school's student", func(c *commands.AssessRisk) { c.StudentID = sc.XStudent }, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"an unknown student", func(c *commands.AssessRisk) { c.StudentID = uuid.NewString() }, domain.KindNotFound, "", domain.ErrStudentNotFound},
			{"no student", func(c *commands.AssessRisk) { c.StudentID = "" }, domain.KindInvalid, "studentId", nil},
			{"an unknown level", func(c *commands.AssessRisk) { c.Level = "extreme" }, domain.KindInvalid, "level", nil},
			{"a score out of range", func(c *commands.AssessRisk) { c.Score = 82 }, domain.KindInvalid, "score", nil},
			{"no factors", func(c *commands.AssessRisk) { c.Factors = nil }, domain.KindInvalid, "factors", nil},
			{"a factor without its reason", func(c *commands.AssessRisk) {
				c.Factors = []domain.RiskFactorInput{{Name: "x", Value: 1, Weight: 1}}
			}, domain.KindInvalid, "factors[0].reason", nil},
			{"no method", func(c *commands.AssessRisk) { c.Method = " " }, domain.KindInvalid, "method", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.Handle(ctx, f.service(), assessment(sc.S1, tt.edit))
				expectErr(t, err, tt.kind, tt.field, tt.sentinel)
			})
		}
		f.expectEvents(t, "risk-"+sc.S1)
	})

	t.Run("not of a withdrawn student", func(t *testing.T) {
		s, _, err := commands.Load(ctx, f.repo, domain.NewStudent(sc.S4))
		f.setupOK(err)
		f.setupOK(s.Withdraw("moved away", f.now))
		f.saveAggregate(s)
		_, err = h.Handle(ctx, f.service(), assessment(sc.S4, nil))
		expectErr(t, err, domain.KindConflict, "", domain.ErrStudentWithdrawn)
	})
}
