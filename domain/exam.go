package domain

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ExamCycle is an examination period of a school: its subjects and the
// classes that sit it, the results recorded per student and subject, and
// their publication (stream exam-<id>). Results can be corrected until they
// are published; after that the cycle is closed.
type ExamCycle struct {
	Root
	schoolID  string
	name      string
	term      string
	subjects  []Subject
	classIDs  []string
	startDate Date
	endDate   Date
	results   map[examResultKey]Grade
	published bool
}

type examResultKey struct {
	studentID string
	subject   Subject
}

// ExamResult is one student's grade in one subject of an exam cycle.
type ExamResult struct {
	StudentID string  `json:"studentId"`
	Subject   Subject `json:"subject"`
	Grade     Grade   `json:"grade"`
}

// Sentinels of the exam cycle.
var (
	ErrExamExists   = errors.New("exam cycle already scheduled")
	ErrExamNotFound = errors.New("exam cycle not found")
	// ErrExamPublished: the results are published; the cycle is closed.
	ErrExamPublished = errors.New("exam results already published")
	// ErrNoResults: publishing a cycle with no results recorded.
	ErrNoResults = errors.New("no exam results recorded")
	// ErrNotExamSubject: a result for a subject the cycle does not examine.
	ErrNotExamSubject = errors.New("subject is not part of the exam cycle")
	// ErrExamNotStarted: results recorded before the cycle's start date.
	ErrExamNotStarted = errors.New("exam cycle has not started")
)

const (
	maxExamName = 120
	maxExamTerm = 60
)

// NewExamCycle returns the blank exam cycle with the given ID, to load its
// stream into. It validates nothing: Schedule checks the ID.
func NewExamCycle(id string) *ExamCycle { return &ExamCycle{Root: Root{id: id}} }

// StreamID is "exam-<id>".
func (x *ExamCycle) StreamID() string { return "exam-" + x.id }

// ExamInput is the input of ExamCycle.Schedule.
type ExamInput struct {
	SchoolID    string
	Name        string
	Term        string // e.g. "2026-autumn"
	Subjects    []string
	ClassIDs    []string
	StartDate   Date
	EndDate     Date
	ScheduledBy string
}

// Schedule sets up the exam cycle. The command layer checks that the
// classes belong to the school.
func (x *ExamCycle) Schedule(in ExamInput, at time.Time) error {
	if err := RequireID("examId", x.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	name, err := RequireText("name", in.Name, maxExamName)
	if err != nil {
		return err
	}
	term, err := RequireText("term", in.Term, maxExamTerm)
	if err != nil {
		return err
	}
	subjects, err := ParseSubjects("subjects", in.Subjects)
	if err != nil {
		return err
	}
	classIDs, err := distinctIDs("classIds", in.ClassIDs)
	if err != nil {
		return err
	}
	switch {
	case in.StartDate.IsZero():
		return Invalid("startDate", "is required")
	case in.EndDate.IsZero():
		return Invalid("endDate", "is required")
	case in.EndDate.Before(in.StartDate):
		return Invalid("endDate", "%s is before the start date %s", in.EndDate, in.StartDate)
	}
	if err := RequireID("scheduledBy", in.ScheduledBy); err != nil {
		return err
	}
	if x.exists() {
		return ruleError(KindConflict, "", ErrExamExists, "exam cycle %s is already scheduled", x.id)
	}
	raise(x, ExamScheduled{
		ExamID:      x.id,
		SchoolID:    in.SchoolID,
		Name:        name,
		Term:        term,
		Subjects:    subjects,
		ClassIDs:    classIDs,
		StartDate:   in.StartDate,
		EndDate:     in.EndDate,
		ScheduledBy: in.ScheduledBy,
		At:          at.UTC(),
	})
	return nil
}

// ExamResultInput is one result of RecordResults.
type ExamResultInput struct {
	StudentID string
	Subject   string
	Grade     float64
}

// RecordResults records grades, one per student and subject; a later
// result for the same student and subject replaces the earlier one.
// eligible are the students who sit the cycle (the rosters of its classes,
// loaded by the command layer). Not before the start date, not after
// publication.
func (x *ExamCycle) RecordResults(results []ExamResultInput, eligible []string, recordedBy string, at time.Time) error {
	if len(results) == 0 {
		return Invalid("results", "needs at least one result")
	}
	allowed := idSet(eligible)
	out := make([]ExamResult, 0, len(results))
	seen := make(map[examResultKey]bool, len(results))
	for i, r := range results {
		idField := fmt.Sprintf("results[%d].studentId", i)
		if err := RequireID(idField, r.StudentID); err != nil {
			return err
		}
		subjectField := fmt.Sprintf("results[%d].subject", i)
		subject, err := ParseSubject(subjectField, r.Subject)
		if err != nil {
			return err
		}
		grade, err := ParseGrade(fmt.Sprintf("results[%d].grade", i), r.Grade)
		if err != nil {
			return err
		}
		key := examResultKey{r.StudentID, subject}
		if seen[key] {
			return Invalid(fmt.Sprintf("results[%d]", i), "student %s has two results in %s", r.StudentID, subject)
		}
		seen[key] = true
		if !allowed[r.StudentID] {
			return ruleError(KindInvalid, idField, ErrNotOnRoster, "student %s does not sit this exam cycle", r.StudentID)
		}
		if x.exists() && !slices.Contains(x.subjects, subject) {
			return ruleError(KindInvalid, subjectField, ErrNotExamSubject, "%s is not examined in this cycle", subject)
		}
		out = append(out, ExamResult{StudentID: r.StudentID, Subject: subject, Grade: grade})
	}
	if err := RequireID("recordedBy", recordedBy); err != nil {
		return err
	}
	if err := x.mustBeOpen(); err != nil {
		return err
	}
	if x.startDate.After(latestDateAt(at)) {
		return ruleError(KindConflict, "", ErrExamNotStarted, "exam cycle %s starts on %s", x.id, x.startDate)
	}
	raise(x, ExamResultsRecorded{
		ExamID:     x.id,
		SchoolID:   x.schoolID,
		Results:    out,
		RecordedBy: recordedBy,
		At:         at.UTC(),
	})
	return nil
}

// Publish releases the results; afterwards they cannot change.
func (x *ExamCycle) Publish(by string, at time.Time) error {
	if err := RequireID("publishedBy", by); err != nil {
		return err
	}
	if err := x.mustBeOpen(); err != nil {
		return err
	}
	if len(x.results) == 0 {
		return ruleError(KindConflict, "", ErrNoResults, "exam cycle %s has no results to publish", x.id)
	}
	students := map[string]bool{}
	for k := range x.results {
		students[k.studentID] = true
	}
	raise(x, ExamResultsPublished{
		ExamID:       x.id,
		SchoolID:     x.schoolID,
		Name:         x.name,
		Term:         x.term,
		ResultCount:  len(x.results),
		StudentCount: len(students),
		PublishedBy:  by,
		At:           at.UTC(),
	})
	return nil
}

func (x *ExamCycle) exists() bool { return x.schoolID != "" }

func (x *ExamCycle) mustBeOpen() error {
	switch {
	case !x.exists():
		return ruleError(KindNotFound, "", ErrExamNotFound, "exam cycle %s does not exist", x.id)
	case x.published:
		return ruleError(KindConflict, "", ErrExamPublished, "the results of exam cycle %s are published", x.id)
	}
	return nil
}

func (x *ExamCycle) apply(e Event) {
	switch e := e.(type) {
	case ExamScheduled:
		x.schoolID, x.name, x.term = e.SchoolID, e.Name, e.Term
		x.subjects, x.classIDs = slices.Clone(e.Subjects), slices.Clone(e.ClassIDs)
		x.startDate, x.endDate = e.StartDate, e.EndDate
		x.results = map[examResultKey]Grade{}
	case ExamResultsRecorded:
		if x.results == nil {
			x.results = map[examResultKey]Grade{}
		}
		for _, r := range e.Results {
			x.results[examResultKey{r.StudentID, r.Subject}] = r.Grade
		}
	case ExamResultsPublished:
		x.published = true
	}
}

func (x *ExamCycle) SchoolID() string    { return x.schoolID }
func (x *ExamCycle) Name() string        { return x.name }
func (x *ExamCycle) Term() string        { return x.term }
func (x *ExamCycle) StartDate() Date     { return x.startDate }
func (x *ExamCycle) EndDate() Date       { return x.endDate }
func (x *ExamCycle) Published() bool     { return x.published }
func (x *ExamCycle) Subjects() []Subject { return slices.Clone(x.subjects) }
func (x *ExamCycle) ClassIDs() []string  { return slices.Clone(x.classIDs) }

// Results returns the current results (corrections applied), sorted by
// student then subject.
func (x *ExamCycle) Results() []ExamResult {
	out := make([]ExamResult, 0, len(x.results))
	for k, g := range x.results {
		out = append(out, ExamResult{StudentID: k.studentID, Subject: k.subject, Grade: g})
	}
	slices.SortFunc(out, func(a, b ExamResult) int {
		return cmp.Or(cmp.Compare(a.StudentID, b.StudentID), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

// Events of the exam cycle.
var (
	ExamScheduledType        = register[ExamScheduled](ChannelPerformance)
	ExamResultsRecordedType  = register[ExamResultsRecorded](ChannelPerformance)
	ExamResultsPublishedType = register[ExamResultsPublished](ChannelPerformance)
)

// ExamScheduled: an exam cycle was set up.
type ExamScheduled struct {
	ExamID      string    `json:"examId"`
	SchoolID    string    `json:"schoolId"`
	Name        string    `json:"name"`
	Term        string    `json:"term"`
	Subjects    []Subject `json:"subjects"`
	ClassIDs    []string  `json:"classIds"`
	StartDate   Date      `json:"startDate"`
	EndDate     Date      `json:"endDate"`
	ScheduledBy string    `json:"scheduledBy"`
	At          time.Time `json:"at"`
}

func (ExamScheduled) EventType() string { return "exam.scheduled.v1" }

// ExamResultsRecorded: results were recorded; each replaces any earlier
// result of the same student and subject.
type ExamResultsRecorded struct {
	ExamID     string       `json:"examId"`
	SchoolID   string       `json:"schoolId"`
	Results    []ExamResult `json:"results"`
	RecordedBy string       `json:"recordedBy"`
	At         time.Time    `json:"at"`
}

func (ExamResultsRecorded) EventType() string { return "exam.results_recorded.v1" }

// ExamResultsPublished: the results were released and are final. The
// results themselves are in the recorded events (the body stays small for
// large cycles); the counts let consumers check they saw them all.
type ExamResultsPublished struct {
	ExamID       string    `json:"examId"`
	SchoolID     string    `json:"schoolId"`
	Name         string    `json:"name"`
	Term         string    `json:"term"`
	ResultCount  int       `json:"resultCount"`
	StudentCount int       `json:"studentCount"`
	PublishedBy  string    `json:"publishedBy"`
	At           time.Time `json:"at"`
}

func (ExamResultsPublished) EventType() string { return "exam.results_published.v1" }
