package domain

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// RiskProfile is the history of a student's risk assessments (stream
// risk-<studentId>). Each assessment is a fact of its own: the level, the
// score and the factors that produced them, with what the analysis read
// (DESIGN.md rule 7: the inputs and reasons are in the event). The
// scoring itself is not the domain's: a deterministic analysis (the
// student_performance workflow) computes it and the domain checks that
// the result is complete and coherent before recording it.
type RiskProfile struct {
	Root
	schoolID    string
	level       RiskLevel
	score       float64
	factors     []RiskFactor
	assessedAt  time.Time
	assessments int
}

// RiskFactor is one input of a risk assessment and how much it weighed:
// e.g. {Name: "mathematics_trend", Value: -6.5, Weight: 0.4, Reason:
// "mathematics fell 6.5 points per assessment over the last 4"}.
type RiskFactor struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Weight float64 `json:"weight"`
	Reason string  `json:"reason"`
}

// RiskFactorInput is the unvalidated form of RiskFactor.
type RiskFactorInput struct {
	Name   string
	Value  float64
	Weight float64
	Reason string
}

// RiskBasis is what an assessment read: the assessment that prompted it
// (empty when none did), how many subjects it analysed, and the attendance
// rate (0..1; AttendanceUnknown when no register entry fell in the window)
// over [AttendanceFrom, AttendanceTo].
type RiskBasis struct {
	AssessmentID   string  `json:"assessmentId,omitempty"`
	Subjects       int     `json:"subjects"`
	AttendanceRate float64 `json:"attendanceRate"`
	AttendanceFrom Date    `json:"attendanceFrom,omitzero"`
	AttendanceTo   Date    `json:"attendanceTo,omitzero"`
}

// AttendanceUnknown is RiskBasis.AttendanceRate when no attendance was
// recorded in the window.
const AttendanceUnknown = -1

// RiskAssessmentInput is the input of RiskProfile.Assess.
type RiskAssessmentInput struct {
	SchoolID string
	Level    string // low|medium|high
	Score    float64
	Factors  []RiskFactorInput
	Basis    RiskBasis
	Method   string // names the algorithm and its version, e.g. "weighted-factors/v1"
}

const (
	maxRiskFactors      = 20
	maxRiskFactorName   = 64
	maxRiskFactorReason = 500
	maxRiskMethod       = 200
)

// NewRiskProfile returns the blank risk profile of a student, to load its
// stream into. It validates nothing: Assess checks the ID.
func NewRiskProfile(studentID string) *RiskProfile {
	return &RiskProfile{Root: Root{id: studentID}}
}

// StreamID is "risk-<studentId>".
func (r *RiskProfile) StreamID() string { return "risk-" + r.id }

// Assess records a risk assessment of the student. The score is in 0..1;
// there is at least one factor, each with a distinct name, finite value, a
// weight in 0..1 and a reason. The command layer checks that the student
// belongs to the school.
func (r *RiskProfile) Assess(in RiskAssessmentInput, at time.Time) error {
	if err := RequireID("studentId", r.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	level, err := RiskLevelFromString("level", in.Level)
	if err != nil {
		return err
	}
	if !finite(in.Score) || in.Score < 0 || in.Score > 1 {
		return Invalid("score", "must be between 0 and 1, got %v", in.Score)
	}
	factors, err := riskFactors(in.Factors)
	if err != nil {
		return err
	}
	basis, err := riskBasis(in.Basis)
	if err != nil {
		return err
	}
	method, err := RequireText("method", in.Method, maxRiskMethod)
	if err != nil {
		return err
	}
	if r.schoolID != "" && r.schoolID != in.SchoolID {
		return ruleError(KindForbidden, "schoolId", ErrSchoolMismatch, "the risk profile of student %s belongs to another school", r.id)
	}
	raise(r, RiskAssessed{
		StudentID:     r.id,
		SchoolID:      in.SchoolID,
		Level:         level,
		Score:         in.Score,
		Factors:       factors,
		Basis:         basis,
		Method:        method,
		PreviousLevel: r.level,
		At:            at.UTC(),
	})
	return nil
}

func riskFactors(in []RiskFactorInput) ([]RiskFactor, error) {
	switch {
	case len(in) == 0:
		return nil, Invalid("factors", "needs at least one factor: an assessment says what produced it")
	case len(in) > maxRiskFactors:
		return nil, Invalid("factors", "has more than %d factors", maxRiskFactors)
	}
	out := make([]RiskFactor, 0, len(in))
	for i, f := range in {
		field := fmt.Sprintf("factors[%d]", i)
		name, err := RequireText(field+".name", f.Name, maxRiskFactorName)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o RiskFactor) bool { return o.Name == name }) {
			return nil, Invalid(field+".name", "factor %q is listed twice", name)
		}
		if !finite(f.Value) {
			return nil, Invalid(field+".value", "must be a finite number, got %v", f.Value)
		}
		if !finite(f.Weight) || f.Weight < 0 || f.Weight > 1 {
			return nil, Invalid(field+".weight", "must be between 0 and 1, got %v", f.Weight)
		}
		reason, err := RequireText(field+".reason", f.Reason, maxRiskFactorReason)
		if err != nil {
			return nil, err
		}
		out = append(out, RiskFactor{Name: name, Value: f.Value, Weight: f.Weight, Reason: reason})
	}
	return out, nil
}

func riskBasis(in RiskBasis) (RiskBasis, error) {
	id, err := optionalText("basis.assessmentId", in.AssessmentID, maxRiskFactorName)
	if err != nil {
		return RiskBasis{}, err
	}
	in.AssessmentID = id
	if in.Subjects < 0 {
		return RiskBasis{}, Invalid("basis.subjects", "must not be negative, got %d", in.Subjects)
	}
	if in.AttendanceRate != AttendanceUnknown && (!finite(in.AttendanceRate) || in.AttendanceRate < 0 || in.AttendanceRate > 1) {
		return RiskBasis{}, Invalid("basis.attendanceRate", "must be between 0 and 1, or -1 when unknown, got %v", in.AttendanceRate)
	}
	if in.AttendanceFrom.IsZero() != in.AttendanceTo.IsZero() {
		return RiskBasis{}, Invalid("basis.attendanceTo", "the attendance window needs both its ends or neither")
	}
	if in.AttendanceTo.Before(in.AttendanceFrom) {
		return RiskBasis{}, Invalid("basis.attendanceTo", "%s is before %s", in.AttendanceTo, in.AttendanceFrom)
	}
	return in, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (r *RiskProfile) apply(e Event) {
	switch e := e.(type) {
	case RiskAssessed:
		if r.schoolID == "" {
			r.schoolID = e.SchoolID
		}
		r.level, r.score, r.assessedAt = e.Level, e.Score, e.At
		r.factors = slices.Clone(e.Factors)
		r.assessments++
	}
}

// Assessed reports whether the student has been assessed at all.
func (r *RiskProfile) Assessed() bool { return r.assessments > 0 }

// StudentID is the student the profile belongs to.
func (r *RiskProfile) StudentID() string { return r.id }
func (r *RiskProfile) SchoolID() string  { return r.schoolID }

// Level, Score, Factors and AssessedAt are those of the latest assessment.
func (r *RiskProfile) Level() RiskLevel      { return r.level }
func (r *RiskProfile) Score() float64        { return r.score }
func (r *RiskProfile) Factors() []RiskFactor { return slices.Clone(r.factors) }
func (r *RiskProfile) AssessedAt() time.Time { return r.assessedAt }
func (r *RiskProfile) AssessmentCount() int  { return r.assessments }

// Events of the risk profile.
var RiskAssessedType = register[RiskAssessed](ChannelAIServices)

// RiskAssessed: a student's risk was assessed. PreviousLevel is the level
// of the assessment before (absent for the first), so consumers see a
// change without reading the history.
type RiskAssessed struct {
	StudentID     string       `json:"studentId"`
	SchoolID      string       `json:"schoolId"`
	Level         RiskLevel    `json:"level"`
	Score         float64      `json:"score"`
	Factors       []RiskFactor `json:"factors"`
	Basis         RiskBasis    `json:"basis"`
	Method        string       `json:"method"`
	PreviousLevel RiskLevel    `json:"previousLevel,omitempty"`
	At            time.Time    `json:"at"`
}

func (RiskAssessed) EventType() string { return "risk.assessed.v1" }
