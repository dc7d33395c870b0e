// Package sagas holds the school workflows as process managers: each saga
// consumes events (through a transport/kafka Handler with its own consumer
// group), keeps durable state in PostgreSQL, issues commands through the
// commands package with IDs derived from what triggered them, and sets
// durable deadlines. The Runtime persists instances, their steps and their
// deadlines, and makes every event and every deadline take effect once.
package sagas

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Saga is one workflow. Its methods are called by the Runtime, one event or
// deadline at a time per instance, inside the transaction that records the
// instance's new state; commands it issues carry IDs derived from the
// trigger, so a redelivery or a retry after a crash issues nothing twice.
type Saga interface {
	// Name is constant: it names the workflow type in statuses and the
	// consumer group (edusmarthub.saga.<name>); renaming re-consumes.
	Name() string
	// Channels are the topics the saga consumes.
	Channels() []domain.Channel
	// Correlate says which instance an event concerns; ok is false for
	// events the saga ignores.
	Correlate(t Trigger) (r Route, ok bool)
	// Handle moves an instance on after an event. The commands it issues
	// are appended at once, before the instance's new state commits, so
	// the events they cause may reach the saga first: a saga must not
	// wait for those events on an instance (or a key) this very call
	// creates; a deadline due at once is the safe next step. A returned
	// error rolls
	// back everything the instance recorded: a domain error (a command
	// refused for good) fails the instance with the error as the reason;
	// any other error is retried.
	Handle(ctx context.Context, in *Instance, t Trigger) error
	// Deadline handles a deadline the instance scheduled, once, when due.
	Deadline(ctx context.Context, in *Instance, d Deadline) error
}

// Route names the instance an event concerns.
type Route struct {
	// ID is the instance's business ID within its saga (a teacher's ID, an
	// intervention's ID...). The event goes to the instance with ID; when
	// there is none, to the running instance with Key, if any; else, with
	// Start, to a new instance with ID (with the event's ID when ID is
	// empty).
	ID string
	// Key is what an instance can be found by (e.g. "student-<id>"); at
	// most one unfinished instance of a saga has a given key. Optional.
	Key string
	// Start allows the event to start a new instance when none matches.
	// An event for an instance that does not exist and may not start one,
	// or for a finished one, is ignored (recorded as processed).
	Start bool
}

// Trigger is the event being handled, as stored and decoded.
type Trigger struct {
	eventstore.RecordedEvent
	Event domain.Event
}

// NewTrigger decodes a stored event; the error names the type for an
// undecodable body.
func NewTrigger(e eventstore.RecordedEvent) (Trigger, error) {
	ev, err := domain.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return Trigger{}, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	return Trigger{RecordedEvent: e, Event: ev}, nil
}

// Deadline is a durable timer an instance set (Instance.Schedule).
type Deadline struct {
	Name    string
	Due     time.Time
	Payload json.RawMessage
}

// Decode reads the deadline's payload into v.
func (d Deadline) Decode(v any) error {
	if len(d.Payload) == 0 {
		return nil
	}
	return json.Unmarshal(d.Payload, v)
}

// State is where an instance is. Stored values: append-only.
type State string

const (
	StateRunning   State = "running"   // working or waiting for an event or a deadline
	StateCompleted State = "completed" // reached its goal
	StateFailed    State = "failed"    // stopped on a step that failed for good; Reason says why
)

// Finished reports whether no further event or deadline moves the state.
func (s State) Finished() bool { return s == StateCompleted || s == StateFailed }

// StepRecord is one entry of an instance's history: what it did and why.
type StepRecord struct {
	Seq     int       `json:"seq"`
	Step    string    `json:"step"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	EventID string    `json:"eventId,omitempty"`   // the trigger, when an event
	Trigger string    `json:"trigger,omitempty"`   // the event type or "deadline:<name>"
	Command string    `json:"commandId,omitempty"` // the command's ID, when the step issued one
	Stream  string    `json:"stream,omitempty"`    // the command's target stream
	Version uint64    `json:"version,omitempty"`   // its version after the command
}

// WorkflowIDSpace is the namespace of workflow IDs: a workflow's public ID
// is UUIDv5(saga name + "\x00" + business ID). Never change it.
var WorkflowIDSpace = uuid.MustParse("5f0c6a2e-3d0b-4f5e-9d1c-1a7e8b2c4d10")

// WorkflowID is the public ID of saga's instance with business ID id.
func WorkflowID(saga, id string) string {
	return uuid.NewSHA1(WorkflowIDSpace, []byte(saga+"\x00"+id)).String()
}

// commandIDSpace is the namespace of the IDs of commands sagas issue.
var commandIDSpace = uuid.MustParse("5f0c6a2e-3d0b-4f5e-9d1c-1a7e8b2c4d11")

// Instance is one run of a saga, as the saga's methods see and change it.
// Changes are kept in memory and written by the Runtime in the
// transaction that marks the trigger processed.
type Instance struct {
	saga      string
	id        string // business ID
	key       string
	schoolID  string
	state     State
	step      string
	reason    string
	data      json.RawMessage
	startedAt time.Time
	isNew     bool

	now     time.Time
	trigger string // "event:<id>" or "deadline:<name>@<due>": what command IDs derive from
	corr    string
	cause   string
	event   string // trigger event ID, for step records
	trType  string

	steps     []StepRecord // recorded by this handling, written at commit
	schedules map[string]scheduled
	cancels   map[string]bool
	dataDirty bool
}

type scheduled struct {
	due     time.Time
	payload json.RawMessage
}

// ID is the instance's business ID; WorkflowID its public ID.
func (in *Instance) ID() string         { return in.id }
func (in *Instance) WorkflowID() string { return WorkflowID(in.saga, in.id) }
func (in *Instance) Saga() string       { return in.saga }
func (in *Instance) Key() string        { return in.key }
func (in *Instance) SchoolID() string   { return in.schoolID }
func (in *Instance) State() State       { return in.state }
func (in *Instance) Step() string       { return in.step }
func (in *Instance) Reason() string     { return in.reason }
func (in *Instance) StartedAt() time.Time {
	return in.startedAt
}

// New reports whether this handling started the instance.
func (in *Instance) New() bool { return in.isNew }

// Now is the runtime's clock (injectable in tests).
func (in *Instance) Now() time.Time { return in.now }

// SetSchool sets the school the instance belongs to (its status is read
// under /v1/schools/{schoolId}); empty for platform-wide workflows.
func (in *Instance) SetSchool(id string) { in.schoolID = id }

// SetKey sets the instance's key (see Route.Key).
func (in *Instance) SetKey(key string) { in.key = key }

// Load decodes the saga's own state into v (left as is for a new instance).
func (in *Instance) Load(v any) error {
	if len(in.data) == 0 {
		return nil
	}
	if err := json.Unmarshal(in.data, v); err != nil {
		return fmt.Errorf("saga %s instance %s: state: %w", in.saga, in.id, err)
	}
	return nil
}

// Save replaces the saga's own state with v (JSON), written at commit and
// shown in the status.
func (in *Instance) Save(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("saga %s instance %s: state: %w", in.saga, in.id, err)
	}
	in.data, in.dataDirty = b, true
	return nil
}

// Record moves the instance to step and records why.
func (in *Instance) Record(step, reason string) {
	in.record(StepRecord{Step: step, Reason: reason})
}

// Issued records a step that issued a command and its result.
func (in *Instance) Issued(step, reason string, m commands.Meta, res commands.Result) {
	in.record(StepRecord{Step: step, Reason: reason, Command: m.CommandID, Stream: res.Stream, Version: res.Version})
}

func (in *Instance) record(s StepRecord) {
	s.At, s.EventID, s.Trigger = in.now, in.event, in.trType
	in.steps = append(in.steps, s)
	in.step = s.Step
}

// Complete finishes the instance at its goal; pending deadlines are
// cancelled.
func (in *Instance) Complete(reason string) {
	in.Record("completed", reason)
	in.state, in.reason = StateCompleted, reason
}

// Fail stops the instance at step, for good, with the reason; pending
// deadlines are cancelled. Whatever earlier steps did stays recorded in
// the history, so nothing half-done is unexplained.
func (in *Instance) Fail(step, reason string) {
	in.Record(step, reason)
	in.state, in.reason = StateFailed, reason
}

// Schedule sets (or moves) the deadline name to due, with an optional
// payload; it fires once, after due, through Saga.Deadline.
func (in *Instance) Schedule(name string, due time.Time, payload any) error {
	var raw json.RawMessage
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return fmt.Errorf("saga %s deadline %s: payload: %w", in.saga, name, err)
		}
		raw = b
	}
	if in.schedules == nil {
		in.schedules = map[string]scheduled{}
	}
	in.schedules[name] = scheduled{due: due.UTC(), payload: raw}
	delete(in.cancels, name)
	return nil
}

// Cancel cancels the pending deadline name, if any.
func (in *Instance) Cancel(name string) {
	if in.cancels == nil {
		in.cancels = map[string]bool{}
	}
	in.cancels[name] = true
	delete(in.schedules, name)
}

// Meta is the metadata of a command the instance issues. Its CommandID
// derives from the instance, the trigger (event or deadline) and purpose,
// which tells apart several commands issued for one trigger: issuing it
// again after a redelivery appends nothing. The actor is the saga, as a
// service of the instance's school.
func (in *Instance) Meta(purpose string) commands.Meta {
	id := uuid.NewSHA1(commandIDSpace, []byte(in.saga+"\x00"+in.id+"\x00"+in.trigger+"\x00"+purpose)).String()
	return commands.Meta{
		CommandID: id,
		SchoolID:  in.schoolID,
		Actor: commands.Actor{
			ID:    "saga:" + in.saga,
			Roles: []commands.Role{commands.RoleService},
		},
		CorrelationID: in.corr,
		CausationID:   in.cause,
	}
}
