package domain

import (
	"cmp"
	"errors"
	"fmt"
	"math"
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
	analyzed  bool
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
	// ErrExamNotPublished: analysing results that are not final yet.
	ErrExamNotPublished = errors.New("exam results not published")
	// ErrExamAnalyzed: analysing a cycle's results twice.
	ErrExamAnalyzed = errors.New("exam results already analyzed")
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

// AnalyzeResults computes the statistics of the published results, once:
// per subject of the cycle the number of students with a result, the
// mean, median, lowest and highest grade and the share at or above
// PassMark; per class of the cycle the same mean and pass rate over every
// result of its students. rosters are the students of each class (the
// command layer reads the classes); a student on none of them counts in
// the subjects only. The figures depend on the results alone, not on
// their order: means and medians are rounded to 2 decimals, rates (0..1)
// to 4; a subject or class without results has zeros.
func (x *ExamCycle) AnalyzeResults(rosters map[string][]string, by string, at time.Time) error {
	if err := RequireID("analyzedBy", by); err != nil {
		return err
	}
	switch {
	case !x.exists():
		return ruleError(KindNotFound, "", ErrExamNotFound, "exam cycle %s does not exist", x.id)
	case !x.published:
		return ruleError(KindConflict, "", ErrExamNotPublished, "the results of exam cycle %s are not published yet", x.id)
	case x.analyzed:
		return ruleError(KindConflict, "", ErrExamAnalyzed, "the results of exam cycle %s are already analyzed", x.id)
	}
	classOf := map[string]string{}
	for _, c := range x.classIDs {
		for _, s := range rosters[c] {
			if _, dup := classOf[s]; !dup {
				classOf[s] = c
			}
		}
	}
	bySubject := map[Subject][]float64{}
	type classAcc struct {
		grades   []float64
		students map[string]bool
	}
	byClass := map[string]*classAcc{}
	for _, r := range x.Results() { // sorted: the sums are the same every time
		bySubject[r.Subject] = append(bySubject[r.Subject], float64(r.Grade))
		c, ok := classOf[r.StudentID]
		if !ok {
			continue
		}
		acc := byClass[c]
		if acc == nil {
			acc = &classAcc{students: map[string]bool{}}
			byClass[c] = acc
		}
		acc.grades = append(acc.grades, float64(r.Grade))
		acc.students[r.StudentID] = true
	}
	subjects := make([]ExamSubjectStats, 0, len(x.subjects))
	for _, sub := range x.subjects {
		grades := bySubject[sub]
		st := ExamSubjectStats{Subject: sub, Students: len(grades)}
		if len(grades) > 0 {
			slices.Sort(grades)
			st.Mean, st.PassRate = meanAndPassRate(grades)
			st.Min, st.Max = grades[0], grades[len(grades)-1]
			st.Median = roundTo(median(grades), 2)
		}
		subjects = append(subjects, st)
	}
	classes := make([]ExamClassStats, 0, len(x.classIDs))
	for _, c := range x.classIDs {
		st := ExamClassStats{ClassID: c}
		if acc := byClass[c]; acc != nil {
			st.Students, st.Results = len(acc.students), len(acc.grades)
			st.Mean, st.PassRate = meanAndPassRate(acc.grades)
		}
		classes = append(classes, st)
	}
	raise(x, ExamResultsAnalyzed{
		ExamID:     x.id,
		SchoolID:   x.schoolID,
		PassMark:   PassMark,
		Subjects:   subjects,
		Classes:    classes,
		AnalyzedBy: by,
		At:         at.UTC(),
	})
	return nil
}

// meanAndPassRate of a non-empty list of grades, rounded.
func meanAndPassRate(grades []float64) (mean, passRate float64) {
	var sum float64
	pass := 0
	for _, g := range grades {
		sum += g
		if Grade(g) >= PassMark {
			pass++
		}
	}
	n := float64(len(grades))
	return roundTo(sum/n, 2), roundTo(float64(pass)/n, 4)
}

// median of sorted, non-empty grades.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func roundTo(f float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(f*p) / p
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
	case ExamResultsAnalyzed:
		x.analyzed = true
	}
}

func (x *ExamCycle) SchoolID() string    { return x.schoolID }
func (x *ExamCycle) Name() string        { return x.name }
func (x *ExamCycle) Term() string        { return x.term }
func (x *ExamCycle) StartDate() Date     { return x.startDate }
func (x *ExamCycle) EndDate() Date       { return x.endDate }
func (x *ExamCycle) Published() bool     { return x.published }
func (x *ExamCycle) Analyzed() bool      { return x.analyzed }
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
	ExamResultsAnalyzedType  = register[ExamResultsAnalyzed](ChannelPerformance)
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

// ExamResultsAnalyzed: the statistics of a cycle's published results (see
// ExamCycle.AnalyzeResults), for dashboards and analytics consumers.
type ExamResultsAnalyzed struct {
	ExamID     string             `json:"examId"`
	SchoolID   string             `json:"schoolId"`
	PassMark   Grade              `json:"passMark"`
	Subjects   []ExamSubjectStats `json:"subjects"`
	Classes    []ExamClassStats   `json:"classes"`
	AnalyzedBy string             `json:"analyzedBy"`
	At         time.Time          `json:"at"`
}

func (ExamResultsAnalyzed) EventType() string { return "exam.results_analyzed.v1" }

// ExamSubjectStats are the figures of one subject of an exam cycle:
// Students is the number of results (one per student); the grades are on
// the 0–100 scale; PassRate is the share at or above the pass mark (0..1).
type ExamSubjectStats struct {
	Subject  Subject `json:"subject"`
	Students int     `json:"students"`
	Mean     float64 `json:"mean"`
	Median   float64 `json:"median"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	PassRate float64 `json:"passRate"`
}

// ExamClassStats are the figures of one class of an exam cycle over every
// result (all subjects) of its students.
type ExamClassStats struct {
	ClassID  string  `json:"classId"`
	Students int     `json:"students"`
	Results  int     `json:"results"`
	Mean     float64 `json:"mean"`
	PassRate float64 `json:"passRate"`
}
