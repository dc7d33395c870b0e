package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Intervention is a support plan for a student at risk: opened with a
// reason and plan, assigned to a teacher, followed up by a due date, and
// closed with an outcome (stream intervention-<id>).
type Intervention struct {
	Root
	schoolID    string
	studentID   string
	reason      string
	plan        []string
	assignedTo  string
	followUpDue Date
	riskLevel   RiskLevel
	status      InterventionStatus
	outcome     InterventionOutcome
	followUps   []InterventionFollowUp
	escalatedAt time.Time // zero unless escalated
}

// InterventionFollowUp is one recorded follow-up of an intervention.
type InterventionFollowUp struct {
	Note string
	By   string
	At   time.Time
}

// RiskLevel is how much at risk a student is judged to be. Stored values:
// append-only, never rename.
type RiskLevel string

const (
	RiskLow    RiskLevel = "low"
	RiskMedium RiskLevel = "medium"
	RiskHigh   RiskLevel = "high"
)

// RiskLevelFromString parses a risk level.
func RiskLevelFromString(field, s string) (RiskLevel, error) {
	switch r := RiskLevel(strings.ToLower(strings.TrimSpace(s))); r {
	case RiskLow, RiskMedium, RiskHigh:
		return r, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not a risk level (low, medium, high)", s)
}

func (r RiskLevel) IsZero() bool   { return r == "" }
func (r RiskLevel) String() string { return string(r) }

// InterventionStatus is where an intervention stands. Stored values:
// append-only, never rename.
type InterventionStatus string

const (
	InterventionStatusOpen   InterventionStatus = "open"
	InterventionStatusClosed InterventionStatus = "closed"
)

// InterventionStatusFromString parses an intervention status (for query
// filters).
func InterventionStatusFromString(field, s string) (InterventionStatus, error) {
	switch st := InterventionStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case InterventionStatusOpen, InterventionStatusClosed:
		return st, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not an intervention status (open, closed)", s)
}

func (s InterventionStatus) IsZero() bool   { return s == "" }
func (s InterventionStatus) String() string { return string(s) }

// InterventionOutcome is how an intervention ended. Stored values:
// append-only, never rename.
type InterventionOutcome string

const (
	OutcomeResolved  InterventionOutcome = "resolved"  // the student is back on track
	OutcomeEscalated InterventionOutcome = "escalated" // handed on (counsellor, leadership)
	OutcomeWithdrawn InterventionOutcome = "withdrawn" // no longer needed or opened in error
)

// InterventionOutcomeFromString parses an intervention outcome.
func InterventionOutcomeFromString(field, s string) (InterventionOutcome, error) {
	switch o := InterventionOutcome(strings.ToLower(strings.TrimSpace(s))); o {
	case OutcomeResolved, OutcomeEscalated, OutcomeWithdrawn:
		return o, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not an intervention outcome (resolved, escalated, withdrawn)", s)
}

func (o InterventionOutcome) IsZero() bool   { return o == "" }
func (o InterventionOutcome) String() string { return string(o) }

// Sentinels of the intervention.
var (
	ErrInterventionExists   = errors.New("intervention already opened")
	ErrInterventionNotFound = errors.New("intervention not found")
	ErrInterventionClosed   = errors.New("intervention is closed")
	// ErrInterventionEscalated: escalating an intervention a second time.
	ErrInterventionEscalated = errors.New("intervention already escalated")
)

const (
	maxInterventionReason = 1000
	maxInterventionPlan   = 20 // steps
	maxInterventionStep   = 500
	maxInterventionNote   = 2000
)

// NewIntervention returns the blank intervention with the given ID, to load
// its stream into. It validates nothing: Open checks the ID.
func NewIntervention(id string) *Intervention {
	return &Intervention{Root: Root{id: id}}
}

// StreamID is "intervention-<id>".
func (iv *Intervention) StreamID() string { return "intervention-" + iv.id }

// InterventionInput is the input of Intervention.Open.
type InterventionInput struct {
	SchoolID    string
	StudentID   string
	Reason      string
	Plan        []string // the steps, at least one
	AssignedTo  string   // teacher ID
	FollowUpDue Date
	RiskLevel   string // optional: low|medium|high, "" for none
	OpenedBy    string
}

// Open starts the intervention. The follow-up date may not be in the past.
func (iv *Intervention) Open(in InterventionInput, at time.Time) error {
	if err := RequireID("interventionId", iv.id); err != nil {
		return err
	}
	if err := RequireID("schoolId", in.SchoolID); err != nil {
		return err
	}
	if err := RequireID("studentId", in.StudentID); err != nil {
		return err
	}
	reason, err := RequireText("reason", in.Reason, maxInterventionReason)
	if err != nil {
		return err
	}
	plan, err := interventionPlan(in.Plan)
	if err != nil {
		return err
	}
	if err := RequireID("assignedTo", in.AssignedTo); err != nil {
		return err
	}
	switch {
	case in.FollowUpDue.IsZero():
		return Invalid("followUpDue", "is required")
	case in.FollowUpDue.Before(earliestDateAt(at)):
		return Invalid("followUpDue", "%s is in the past", in.FollowUpDue)
	}
	var risk RiskLevel
	if strings.TrimSpace(in.RiskLevel) != "" {
		if risk, err = RiskLevelFromString("riskLevel", in.RiskLevel); err != nil {
			return err
		}
	}
	if err := RequireID("openedBy", in.OpenedBy); err != nil {
		return err
	}
	if iv.exists() {
		return ruleError(KindConflict, "", ErrInterventionExists, "intervention %s is already open", iv.id)
	}
	raise(iv, InterventionOpened{
		InterventionID: iv.id,
		SchoolID:       in.SchoolID,
		StudentID:      in.StudentID,
		Reason:         reason,
		Plan:           plan,
		AssignedTo:     in.AssignedTo,
		FollowUpDue:    in.FollowUpDue,
		RiskLevel:      risk,
		OpenedBy:       in.OpenedBy,
		At:             at.UTC(),
	})
	return nil
}

func interventionPlan(in []string) ([]string, error) {
	switch {
	case len(in) == 0:
		return nil, Invalid("plan", "needs at least one step")
	case len(in) > maxInterventionPlan:
		return nil, Invalid("plan", "has more than %d steps", maxInterventionPlan)
	}
	out := make([]string, len(in))
	for i, step := range in {
		s, err := RequireText(fmt.Sprintf("plan[%d]", i), step, maxInterventionStep)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// RecordFollowUp records that the student was followed up. nextDue, when
// set, is the date of the next follow-up (not in the past); when zero, no
// further follow-up is due (FollowUpDue becomes zero).
func (iv *Intervention) RecordFollowUp(note string, nextDue Date, by string, at time.Time) error {
	note, err := RequireText("note", note, maxInterventionNote)
	if err != nil {
		return err
	}
	if !nextDue.IsZero() && nextDue.Before(earliestDateAt(at)) {
		return Invalid("nextFollowUpDue", "%s is in the past", nextDue)
	}
	if err := RequireID("recordedBy", by); err != nil {
		return err
	}
	if err := iv.mustBeOpen(); err != nil {
		return err
	}
	raise(iv, InterventionFollowUpRecorded{
		InterventionID:  iv.id,
		SchoolID:        iv.schoolID,
		StudentID:       iv.studentID,
		Note:            note,
		NextFollowUpDue: nextDue,
		RecordedBy:      by,
		At:              at.UTC(),
	})
	return nil
}

// Close ends the intervention with an outcome (resolved, escalated,
// withdrawn) and an optional note.
func (iv *Intervention) Close(outcome, note, by string, at time.Time) error {
	o, err := InterventionOutcomeFromString("outcome", outcome)
	if err != nil {
		return err
	}
	note, err = optionalText("note", note, maxInterventionNote)
	if err != nil {
		return err
	}
	if err := RequireID("closedBy", by); err != nil {
		return err
	}
	if err := iv.mustBeOpen(); err != nil {
		return err
	}
	raise(iv, InterventionClosed{
		InterventionID: iv.id,
		SchoolID:       iv.schoolID,
		StudentID:      iv.studentID,
		Outcome:        o,
		Note:           note,
		ClosedBy:       by,
		At:             at.UTC(),
	})
	return nil
}

// Escalate hands an open intervention to the school's administrators (the
// admin recipient OfficeRecipientID), with the reason, e.g. that its
// follow-up is overdue. It stays open, assigned as before; an intervention
// is escalated once.
func (iv *Intervention) Escalate(reason, by string, at time.Time) error {
	reason, err := RequireText("reason", reason, maxInterventionReason)
	if err != nil {
		return err
	}
	if err := RequireID("escalatedBy", by); err != nil {
		return err
	}
	if err := iv.mustBeOpen(); err != nil {
		return err
	}
	if iv.Escalated() {
		return ruleError(KindConflict, "", ErrInterventionEscalated, "intervention %s was already escalated at %s",
			iv.id, iv.escalatedAt.Format(time.RFC3339))
	}
	raise(iv, InterventionEscalated{
		InterventionID: iv.id,
		SchoolID:       iv.schoolID,
		StudentID:      iv.studentID,
		Reason:         reason,
		EscalatedTo:    OfficeRecipientID,
		EscalatedBy:    by,
		At:             at.UTC(),
	})
	return nil
}

func (iv *Intervention) exists() bool { return iv.status != "" }

func (iv *Intervention) mustBeOpen() error {
	switch iv.status {
	case "":
		return ruleError(KindNotFound, "", ErrInterventionNotFound, "intervention %s does not exist", iv.id)
	case InterventionStatusClosed:
		return ruleError(KindConflict, "", ErrInterventionClosed, "intervention %s is closed (%s)", iv.id, iv.outcome)
	}
	return nil
}

func (iv *Intervention) apply(e Event) {
	switch e := e.(type) {
	case InterventionOpened:
		iv.schoolID, iv.studentID, iv.reason = e.SchoolID, e.StudentID, e.Reason
		iv.plan = slices.Clone(e.Plan)
		iv.assignedTo, iv.followUpDue, iv.riskLevel = e.AssignedTo, e.FollowUpDue, e.RiskLevel
		iv.status = InterventionStatusOpen
	case InterventionFollowUpRecorded:
		iv.followUps = append(iv.followUps, InterventionFollowUp{Note: e.Note, By: e.RecordedBy, At: e.At})
		iv.followUpDue = e.NextFollowUpDue
	case InterventionClosed:
		iv.status, iv.outcome = InterventionStatusClosed, e.Outcome
		iv.followUpDue = Date{}
	case InterventionEscalated:
		iv.escalatedAt = e.At
	}
}

func (iv *Intervention) SchoolID() string             { return iv.schoolID }
func (iv *Intervention) StudentID() string            { return iv.studentID }
func (iv *Intervention) AssignedTo() string           { return iv.assignedTo }
func (iv *Intervention) Reason() string               { return iv.reason }
func (iv *Intervention) Plan() []string               { return slices.Clone(iv.plan) }
func (iv *Intervention) RiskLevel() RiskLevel         { return iv.riskLevel }
func (iv *Intervention) Outcome() InterventionOutcome { return iv.outcome }

// Status is open or closed; zero before Open.
func (iv *Intervention) Status() InterventionStatus { return iv.status }

// FollowUpDue is the date the next follow-up is due; zero when none is due
// (after a follow-up that set no next date, or once closed).
func (iv *Intervention) FollowUpDue() Date { return iv.followUpDue }

// Escalated reports whether the intervention was escalated; EscalatedAt
// is when (zero if not).
func (iv *Intervention) Escalated() bool        { return !iv.escalatedAt.IsZero() }
func (iv *Intervention) EscalatedAt() time.Time { return iv.escalatedAt }

// FollowUps returns a copy of the recorded follow-ups, oldest first.
func (iv *Intervention) FollowUps() []InterventionFollowUp { return slices.Clone(iv.followUps) }

// Events of the intervention.
var (
	InterventionOpenedType           = register[InterventionOpened](ChannelAIServices)
	InterventionFollowUpRecordedType = register[InterventionFollowUpRecorded](ChannelAIServices)
	InterventionClosedType           = register[InterventionClosed](ChannelAIServices)
	InterventionEscalatedType        = register[InterventionEscalated](ChannelAIServices)
)

// InterventionOpened: an intervention was opened for a student.
type InterventionOpened struct {
	InterventionID string    `json:"interventionId"`
	SchoolID       string    `json:"schoolId"`
	StudentID      string    `json:"studentId"`
	Reason         string    `json:"reason"`
	Plan           []string  `json:"plan"`
	AssignedTo     string    `json:"assignedTo"`
	FollowUpDue    Date      `json:"followUpDue"`
	RiskLevel      RiskLevel `json:"riskLevel,omitempty"`
	OpenedBy       string    `json:"openedBy"`
	At             time.Time `json:"at"`
}

func (InterventionOpened) EventType() string { return "intervention.opened.v1" }

// InterventionFollowUpRecorded: the student was followed up. NextFollowUpDue
// is absent when no further follow-up is due.
type InterventionFollowUpRecorded struct {
	InterventionID  string    `json:"interventionId"`
	SchoolID        string    `json:"schoolId"`
	StudentID       string    `json:"studentId"`
	Note            string    `json:"note"`
	NextFollowUpDue Date      `json:"nextFollowUpDue,omitzero"`
	RecordedBy      string    `json:"recordedBy"`
	At              time.Time `json:"at"`
}

func (InterventionFollowUpRecorded) EventType() string { return "intervention.follow_up_recorded.v1" }

// InterventionClosed: the intervention ended with an outcome.
type InterventionClosed struct {
	InterventionID string              `json:"interventionId"`
	SchoolID       string              `json:"schoolId"`
	StudentID      string              `json:"studentId"`
	Outcome        InterventionOutcome `json:"outcome"`
	Note           string              `json:"note,omitempty"`
	ClosedBy       string              `json:"closedBy"`
	At             time.Time           `json:"at"`
}

func (InterventionClosed) EventType() string { return "intervention.closed.v1" }

// InterventionEscalated: the intervention was handed to the school's
// administrators (EscalatedTo is the admin recipient ID, OfficeRecipientID:
// all of them). It stays open.
type InterventionEscalated struct {
	InterventionID string    `json:"interventionId"`
	SchoolID       string    `json:"schoolId"`
	StudentID      string    `json:"studentId"`
	Reason         string    `json:"reason"`
	EscalatedTo    string    `json:"escalatedTo"`
	EscalatedBy    string    `json:"escalatedBy"`
	At             time.Time `json:"at"`
}

func (InterventionEscalated) EventType() string { return "intervention.escalated.v1" }
