package sagas

import (
	"context"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/sagas/drafting"
	"github.com/edusmarthub/edusmarthub/sagas/risk"
)

// The texts of the student_performance notifications come from package
// drafting (deterministic templates): teachers get the assessment as it
// was made (level, score, every factor with its value, weight and reason,
// the method); guardians get the concerns in plain words, without scores.

type spDraftInput struct {
	SchoolName  string
	Student     *domain.Student
	Class       *domain.Class // nil when the student has none
	TeacherName string        // the first teacher told, whom guardians may contact
	Assessment  risk.Assessment
	Recorded    domain.PerformanceRecorded
	// AttendanceDays is the attendance window, in days.
	AttendanceDays int
}

func (in spDraftInput) alert() drafting.RiskAlert {
	a := in.Assessment
	out := drafting.RiskAlert{
		SchoolName:  in.SchoolName,
		StudentName: in.Student.Name(),
		Level:       domain.RiskLevel(a.Level),
		Score:       a.Score,
		Method:      a.Method,
		AssessedOn:  domain.DateOf(in.Recorded.At),
		TeacherName: in.TeacherName,
	}
	if in.Class != nil {
		out.ClassName = in.Class.Name()
	}
	for _, f := range a.Factors {
		out.Factors = append(out.Factors, drafting.RiskFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Reason: f.Reason})
	}
	for _, s := range a.Subjects {
		if s.Mark < a.PassMark {
			out.SubjectsBelowPass = append(out.SubjectsBelowPass, domain.Subject(s.Subject))
		}
		if s.Trend != nil && *s.Trend < 0 {
			out.FallingSubjects = append(out.FallingSubjects, domain.Subject(s.Subject))
		}
	}
	// Attendance is told to guardians when it counted.
	if f, ok := a.Factor(risk.FactorAttendanceRate); ok && f.Contribution > 0 {
		out.AttendanceRate, out.AttendanceDays = a.AttendanceRate, in.AttendanceDays
	}
	return out
}

// spTeacherAlert is the message to the teachers at medium or high risk.
func spTeacherAlert(in spDraftInput) (subject, body string) {
	return drafting.RiskAlertTeacher(in.alert())
}

// spGuardianAlert is the message to the guardians at high risk.
func spGuardianAlert(in spDraftInput) (subject, body string) {
	return drafting.RiskAlertGuardians(in.alert())
}

// spNames reads the names the texts show: the school's and a teacher's
// (empty when unknown: the texts then use a neutral wording).
func spNames(ctx context.Context, repo *commands.Repository, schoolID, teacherID string) (school, teacher string, err error) {
	s, _, err := commands.Load(ctx, repo, domain.NewSchool(schoolID))
	if err != nil {
		return "", "", err
	}
	if teacherID != "" {
		t, _, err := commands.Load(ctx, repo, domain.NewTeacher(teacherID))
		if err != nil {
			return "", "", err
		}
		teacher = t.Name()
	}
	return s.Name(), teacher, nil
}
