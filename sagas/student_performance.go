package sagas

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/sagas/risk"
)

// StudentPerformanceSaga names the student_performance workflow.
const StudentPerformanceSaga = "student_performance"

// NewStudentPerformance returns the student_performance workflow: the
// data-flow pipeline from a recorded grade to a risk assessment.
//
// One instance per recorded assessment (its ID is the assessment's ID),
// run to its end on the performance.recorded.v1 event:
//
//  1. the analysis reads the student's performance record up to and
//     including this assessment (so a late redelivery reads the same
//     grades), the student (class, guardians) and, through the Directory,
//     their attendance over Settings.AttendanceWindow up to the day the
//     grade was recorded;
//  2. sagas/risk scores it (a rule-based weighted sum, not machine
//     learning) and the AssessRisk command records risk.assessed.v1 with
//     the level, score, factors and what they were computed from; the
//     ai_intervention_workflow starts on a high one;
//  3. at medium or high risk the teachers concerned are told (the teachers
//     of the subjects the factors name and of the assessed subject, else
//     every teacher of the class), with every factor and its weight; at
//     high risk the guardians are told too, in plain words, without
//     weights;
//  4. completed, with the assessment's one-line account as the reason. A
//     low risk is recorded and completed without notifying anyone.
//
// A withdrawn student is not assessed (completed, saying so); a student
// the school does not know fails the instance.
func NewStudentPerformance(d Deps) Saga { return &studentPerformance{d: d} }

type studentPerformance struct{ d Deps }

// spState is the instance's data, shown in its status.
type spState struct {
	StudentID    string            `json:"studentId"`
	AssessmentID string            `json:"assessmentId"`
	Subject      string            `json:"subject"`
	Grade        float64           `json:"grade"`
	Level        string            `json:"level,omitempty"`
	Score        float64           `json:"score"`
	Explanation  string            `json:"explanation,omitempty"`
	Factors      []risk.Factor     `json:"factors,omitempty"`
	Subjects     []spSubjectWindow `json:"subjects,omitempty"`
	Attendance   *spAttendance     `json:"attendance,omitempty"`
	Teachers     []string          `json:"notifiedTeachers,omitempty"`
	Guardians    []string          `json:"notifiedGuardians,omitempty"`
}

type spSubjectWindow struct {
	Subject string    `json:"subject"`
	Grades  []float64 `json:"grades"`
	Trend   *float64  `json:"trend,omitempty"`
}

type spAttendance struct {
	From    domain.Date `json:"from"`
	To      domain.Date `json:"to"`
	Counts  spCounts    `json:"counts"`
	Rate    float64     `json:"rate"` // -1: unknown
	Unknown bool        `json:"unknown,omitempty"`
}

// spCounts is AttendanceSummary as the status shows it.
type spCounts struct {
	Present int `json:"present"`
	Late    int `json:"late"`
	Absent  int `json:"absent"`
	Excused int `json:"excused"`
}

func (c spCounts) total() int { return c.Present + c.Late + c.Absent + c.Excused }

func (*studentPerformance) Name() string { return StudentPerformanceSaga }

func (*studentPerformance) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelPerformance}
}

func (*studentPerformance) Correlate(t Trigger) (Route, bool) {
	e, ok := t.Event.(domain.PerformanceRecorded)
	if !ok || e.AssessmentID == "" || e.StudentID == "" {
		return Route{}, false
	}
	return Route{ID: e.AssessmentID, Start: true}, true
}

func (s *studentPerformance) Handle(ctx context.Context, in *Instance, t Trigger) error {
	e, ok := t.Event.(domain.PerformanceRecorded)
	if !ok || !in.New() {
		return nil // one event per instance: nothing else moves it
	}
	in.SetSchool(cmp.Or(e.SchoolID, t.Metadata.SchoolID))
	st := spState{StudentID: e.StudentID, AssessmentID: e.AssessmentID, Subject: string(e.Subject), Grade: float64(e.Grade)}

	student, err := loadActiveStudent(ctx, s.d.Repo, in, e.StudentID, "no risk assessment")
	if err != nil {
		return err
	}
	if student == nil {
		return in.Save(st)
	}

	grades, err := s.grades(ctx, e.StudentID, t.Version)
	if err != nil {
		return err
	}
	att, err := s.attendance(ctx, in.SchoolID(), e.StudentID, e.At)
	if err != nil {
		return err
	}
	a := risk.Assess(risk.Input{
		Grades:           grades,
		Attendance:       risk.Attendance(att.Counts),
		AttendanceWindow: s.attendanceWindow(),
		PassMark:         float64(domain.PassMark),
		Window:           s.d.Settings.AssessmentWindow,
	})
	att.Rate = a.AttendanceRate
	att.Unknown = a.AttendanceRate < 0
	st.Level, st.Score, st.Explanation, st.Factors, st.Attendance = string(a.Level), a.Score, a.Explain(), a.Factors, &att
	for _, sub := range a.Subjects {
		st.Subjects = append(st.Subjects, spSubjectWindow{Subject: sub.Subject, Grades: sub.Grades, Trend: sub.Trend})
	}
	in.Record("analysed", fmt.Sprintf("read %s in %s (last %d per subject) and attendance %s",
		count(len(grades), "assessment"), count(len(a.Subjects), "subject"), a.Window, spAttendanceWords(att)))

	m := in.Meta("assess_risk")
	res, err := commands.NewAssessRiskHandler(s.d.Repo).Handle(ctx, m, commands.AssessRisk{
		StudentID: e.StudentID,
		Level:     string(a.Level),
		Score:     a.Score,
		Factors:   spFactorInputs(a.Factors),
		Basis: domain.RiskBasis{
			AssessmentID:   e.AssessmentID,
			Subjects:       len(a.Subjects),
			AttendanceRate: a.AttendanceRate,
			AttendanceFrom: att.From,
			AttendanceTo:   att.To,
		},
		Method: a.Method,
	})
	if err != nil {
		return err
	}
	in.Issued("risk_assessed", a.Explain(), m, res)

	if a.Level == risk.Low {
		in.Complete(a.Explain() + "; low risk: no one notified")
		return in.Save(st)
	}
	class, err := loadClassOf(ctx, s.d.Repo, student)
	if err != nil {
		return err
	}
	teachers := spTeachersConcerned(class, e.Subject, a)
	var first string
	if len(teachers) > 0 {
		first = teachers[0]
	}
	schoolName, teacherName, err := spNames(ctx, s.d.Repo, in.SchoolID(), first)
	if err != nil {
		return err
	}
	draft := spDraftInput{SchoolName: schoolName, Student: student, Class: class, TeacherName: teacherName, Assessment: a,
		Recorded: e, AttendanceDays: int(s.attendanceWindow() / (24 * time.Hour))}
	switch {
	case len(teachers) == 0:
		in.Record("teachers_not_notified", fmt.Sprintf("%s has no class with a teacher: no teacher to tell of the %s risk",
			studentLabel(student), a.Level))
	default:
		subject, body := spTeacherAlert(draft)
		if _, err := s.d.notify(ctx, in, "notify_teachers", Notification{
			Recipients: recipients(domain.RecipientTeacher, teachers...),
			Subject:    subject, Body: body,
			Category:  string(domain.CategoryPerformance),
			RelatedTo: "student-" + e.StudentID,
		}, "teachers_notified", fmt.Sprintf("told %s of the %s risk: %s", count(len(teachers), "teacher"),
			a.Level, strings.Join(teachers, ", "))); err != nil {
			return err
		}
		st.Teachers = teachers
	}
	if a.Level == risk.High {
		guardians := student.GuardianIDs()
		subject, body := spGuardianAlert(draft)
		if _, err := s.d.notify(ctx, in, "notify_guardians", Notification{
			Recipients: recipients(domain.RecipientGuardian, guardians...),
			Subject:    subject, Body: body,
			Category:  string(domain.CategoryPerformance),
			RelatedTo: "student-" + e.StudentID,
		}, "guardians_notified", fmt.Sprintf("told %s of the high risk", count(len(guardians), "guardian"))); err != nil {
			return err
		}
		st.Guardians = guardians
	}
	in.Complete(a.Explain())
	return in.Save(st)
}

// Deadline: the workflow sets none.
func (*studentPerformance) Deadline(context.Context, *Instance, Deadline) error { return nil }

// grades reads the student's assessments recorded up to version upTo of
// their performance stream, in the order recorded.
func (s *studentPerformance) grades(ctx context.Context, studentID string, upTo eventstore.Version) ([]risk.Grade, error) {
	_, recs, err := commands.Load(ctx, s.d.Repo, domain.NewPerformance(studentID))
	if err != nil {
		return nil, err
	}
	var out []risk.Grade
	for _, rec := range recs {
		if upTo > 0 && rec.Version > upTo {
			break
		}
		ev, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return nil, fmt.Errorf("performance-%s version %d: %w", studentID, rec.Version, err)
		}
		if p, ok := ev.(domain.PerformanceRecorded); ok {
			out = append(out, risk.Grade{AssessmentID: p.AssessmentID, Subject: string(p.Subject), Grade: float64(p.Grade), AssessedAt: p.AssessedAt})
		}
	}
	return out, nil
}

// attendanceWindow is Settings.AttendanceWindow, 30 days when unset.
func (s *studentPerformance) attendanceWindow() time.Duration {
	if w := s.d.Settings.AttendanceWindow; w > 0 {
		return w
	}
	return 30 * 24 * time.Hour
}

// attendance counts the student's register entries of the window's days
// up to the day the grade was recorded (the window's dates are UTC
// calendar dates: [to − days + 1, to]).
func (s *studentPerformance) attendance(ctx context.Context, schoolID, studentID string, at time.Time) (spAttendance, error) {
	days := max(1, int((s.attendanceWindow()+24*time.Hour-1)/(24*time.Hour)))
	to := domain.DateOf(at)
	out := spAttendance{From: to.AddDays(1 - days), To: to}
	if s.d.Directory == nil {
		return out, nil
	}
	counts, err := s.d.Directory.Attendance(ctx, schoolID, studentID, out.From, out.To)
	if err != nil {
		return out, fmt.Errorf("attendance of student %s: %w", studentID, err)
	}
	out.Counts = spCounts(counts)
	return out, nil
}

// spTeachersConcerned lists the teachers to tell: those of the subjects
// the contributing factors name, then of the assessed subject, in that
// order, each once; when none of those subjects has a teacher in the
// class, every teacher of the class.
func spTeachersConcerned(class *domain.Class, assessed domain.Subject, a risk.Assessment) []string {
	if class == nil {
		return nil
	}
	var subjects []domain.Subject
	for _, f := range a.Contributing() {
		for _, s := range f.Subjects {
			subjects = append(subjects, domain.Subject(s))
		}
	}
	subjects = append(subjects, assessed)
	var out []string
	for _, sub := range subjects {
		if id, ok := class.SubjectTeacher(sub); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, cs := range class.Subjects() {
		if cs.TeacherID != "" && !slices.Contains(out, cs.TeacherID) {
			out = append(out, cs.TeacherID)
		}
	}
	return out
}

func spFactorInputs(fs []risk.Factor) []domain.RiskFactorInput {
	out := make([]domain.RiskFactorInput, len(fs))
	for i, f := range fs {
		out[i] = domain.RiskFactorInput{Name: f.Name, Value: f.Value, Weight: f.Weight, Reason: f.Reason}
	}
	return out
}

func spAttendanceWords(a spAttendance) string {
	if a.Counts.total() == 0 {
		return fmt.Sprintf("unknown (no register entry from %s to %s)", a.From, a.To)
	}
	return fmt.Sprintf("from %s to %s (%d present, %d late, %d absent, %d excused)", a.From, a.To,
		a.Counts.Present, a.Counts.Late, a.Counts.Absent, a.Counts.Excused)
}
