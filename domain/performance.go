package domain

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Performance is a student's assessment record: every graded assessment of
// one student, across subjects. There is one record per student (stream
// performance-<studentId>); the first Record creates it and fixes the
// student's school.
type Performance struct {
	Root
	schoolID    string
	assessments []Assessment   // in the order recorded
	byID        map[string]int // assessment ID -> index in assessments
}

// Assessment is one graded assessment of a student.
type Assessment struct {
	ID         string
	Subject    Subject
	Grade      Grade
	Type       AssessmentType
	AssessedAt time.Time
	RecordedBy string
	RecordedAt time.Time
}

// AssessmentType is the kind of assessment a grade comes from. Stored
// values: append-only, never rename.
type AssessmentType string

const (
	AssessmentExam       AssessmentType = "exam"
	AssessmentMidterm    AssessmentType = "midterm"
	AssessmentQuiz       AssessmentType = "quiz"
	AssessmentAssignment AssessmentType = "assignment"
	AssessmentProject    AssessmentType = "project"
)

// AssessmentTypeFromString parses an assessment type.
func AssessmentTypeFromString(field, s string) (AssessmentType, error) {
	switch t := AssessmentType(strings.ToLower(strings.TrimSpace(s))); t {
	case AssessmentExam, AssessmentMidterm, AssessmentQuiz, AssessmentAssignment, AssessmentProject:
		return t, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not an assessment type (exam, midterm, quiz, assignment, project)", s)
}

func (t AssessmentType) IsZero() bool   { return t == "" }
func (t AssessmentType) String() string { return string(t) }

// Sentinels of the performance record.
var (
	// ErrAssessmentExists: the assessment ID is already on the record.
	ErrAssessmentExists = errors.New("assessment already recorded")
	// ErrSchoolMismatch: the aggregate belongs to another school than the
	// command's. The command layer checks tenancy first; this is the
	// domain's own guard where a command names the school.
	ErrSchoolMismatch = errors.New("belongs to another school")
)

// assessmentClockSkew is how far in the future of the command's time an
// assessment may be dated: clients stamp assessedAt with their own clock.
const assessmentClockSkew = 5 * time.Minute

// NewPerformance returns the blank record of a student, to load its stream
// into (commands.Load/Update). It validates nothing: Record checks the ID.
func NewPerformance(studentID string) *Performance {
	return &Performance{Root: Root{id: studentID}}
}

// StreamID is "performance-<studentId>".
func (p *Performance) StreamID() string { return "performance-" + p.id }

// AssessmentInput is the input of Performance.Record. The assessment ID is
// minted by the caller (the command ID makes retries idempotent).
type AssessmentInput struct {
	SchoolID       string
	AssessmentID   string
	Subject        string
	Grade          float64
	AssessmentType string
	AssessedAt     time.Time
	RecordedBy     string
}

// Record adds a graded assessment to the student's record, creating the
// record on first use.
func (p *Performance) Record(in AssessmentInput, at time.Time) error {
	if err := RequireID("studentId", p.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	if err := RequireID("assessmentId", in.AssessmentID); err != nil {
		return err
	}
	subject, err := ParseSubject("subject", in.Subject)
	if err != nil {
		return err
	}
	grade, err := ParseGrade("grade", in.Grade)
	if err != nil {
		return err
	}
	typ, err := AssessmentTypeFromString("assessmentType", in.AssessmentType)
	if err != nil {
		return err
	}
	switch {
	case in.AssessedAt.IsZero():
		return Invalid("assessedAt", "is required")
	case in.AssessedAt.After(at.Add(assessmentClockSkew)):
		return Invalid("assessedAt", "%s is in the future", in.AssessedAt.UTC().Format(time.RFC3339))
	}
	if err := RequireID("recordedBy", in.RecordedBy); err != nil {
		return err
	}
	if p.schoolID != "" && p.schoolID != in.SchoolID {
		return ruleError(KindForbidden, "schoolId", ErrSchoolMismatch, "the record of student %s belongs to another school", p.id)
	}
	if _, dup := p.byID[in.AssessmentID]; dup {
		return ruleError(KindConflict, "assessmentId", ErrAssessmentExists, "assessment %s is already recorded", in.AssessmentID)
	}
	raise(p, PerformanceRecorded{
		StudentID:      p.id,
		SchoolID:       in.SchoolID,
		AssessmentID:   in.AssessmentID,
		Subject:        subject,
		Grade:          grade,
		AssessmentType: typ,
		AssessedAt:     in.AssessedAt.UTC(),
		RecordedBy:     in.RecordedBy,
		At:             at.UTC(),
	})
	return nil
}

func (p *Performance) apply(e Event) {
	switch e := e.(type) {
	case PerformanceRecorded:
		if p.schoolID == "" {
			p.schoolID = e.SchoolID
		}
		if p.byID == nil {
			p.byID = map[string]int{}
		}
		p.byID[e.AssessmentID] = len(p.assessments)
		p.assessments = append(p.assessments, Assessment{
			ID: e.AssessmentID, Subject: e.Subject, Grade: e.Grade, Type: e.AssessmentType,
			AssessedAt: e.AssessedAt, RecordedBy: e.RecordedBy, RecordedAt: e.At,
		})
	}
}

// StudentID is the student the record belongs to.
func (p *Performance) StudentID() string { return p.id }

// SchoolID is the student's school; empty before the first Record.
func (p *Performance) SchoolID() string { return p.schoolID }

// Assessments returns a copy of every assessment, in the order recorded.
func (p *Performance) Assessments() []Assessment { return slices.Clone(p.assessments) }

// Assessment returns one assessment by ID.
func (p *Performance) Assessment(id string) (Assessment, bool) {
	i, ok := p.byID[id]
	if !ok {
		return Assessment{}, false
	}
	return p.assessments[i], true
}

// SubjectGrades returns the assessments of one subject in assessedAt order
// (ties in the order recorded): the series a trend analysis reads.
func (p *Performance) SubjectGrades(subject Subject) []Assessment {
	var out []Assessment
	for _, a := range p.assessments {
		if a.Subject == subject {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b Assessment) int { return a.AssessedAt.Compare(b.AssessedAt) })
	return out
}

// Subjects lists the subjects the student has been assessed in, sorted.
func (p *Performance) Subjects() []Subject {
	var out []Subject
	for _, a := range p.assessments {
		if !slices.Contains(out, a.Subject) {
			out = append(out, a.Subject)
		}
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// Events of the performance record.
var PerformanceRecordedType = register[PerformanceRecorded](ChannelPerformance)

// PerformanceRecorded: a graded assessment was added to a student's record.
type PerformanceRecorded struct {
	StudentID      string         `json:"studentId"`
	SchoolID       string         `json:"schoolId"`
	AssessmentID   string         `json:"assessmentId"`
	Subject        Subject        `json:"subject"`
	Grade          Grade          `json:"grade"`
	AssessmentType AssessmentType `json:"assessmentType"`
	AssessedAt     time.Time      `json:"assessedAt"`
	RecordedBy     string         `json:"recordedBy"`
	At             time.Time      `json:"at"`
}

func (PerformanceRecorded) EventType() string { return "performance.recorded.v1" }

// Helpers shared by the academic aggregates (performance, attendance,
// interventions, meetings, exams, messages).

// latestDateAt is the latest calendar date anywhere on earth at instant at
// (UTC+14). The domain does not know a school's time zone, so a date counts
// as in the future only while it has begun nowhere.
func latestDateAt(at time.Time) Date { return DateOf(at.Add(14 * time.Hour)) }

// earliestDateAt is the earliest calendar date anywhere at instant at
// (UTC-12): a date counts as past only once it has ended everywhere.
func earliestDateAt(at time.Time) Date { return DateOf(at.Add(-12 * time.Hour)) }

// distinctIDs checks a non-empty list of distinct IDs; errors name field[i].
func distinctIDs(field string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, Invalid(field, "needs at least one entry")
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := RequireID(f, id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, Invalid(f, "%q is listed twice", id)
		}
		seen[id] = true
	}
	return slices.Clone(ids), nil
}

// idSet is the set of ids, for membership checks against a roster.
func idSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
