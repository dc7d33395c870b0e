package domain

// Root is embedded by every aggregate. It tracks the version loaded from the
// store and the events raised since, which the command layer appends with
// the loaded version as the expected one.
type Root struct {
	id      string
	version uint64
	changes []Event
}

// ID is the aggregate's identifier (a UUID string).
func (r *Root) ID() string { return r.id }

// Version is the stream version the aggregate was loaded at.
func (r *Root) Version() uint64 { return r.version }

// Changes are the events raised by commands since loading, in order.
func (r *Root) Changes() []Event { return r.changes }

func (r *Root) root() *Root { return r }

// Aggregate is implemented by the aggregates of this package only: the
// unexported methods keep other packages from applying events to them.
type Aggregate interface {
	ID() string
	StreamID() string
	Version() uint64
	Changes() []Event
	root() *Root
	apply(Event)
}

// Rehydrate rebuilds an aggregate from its history. It is not a
// constructor: it validates nothing, since stored events are facts.
// version is the stream version after the last event of history.
func Rehydrate[A Aggregate](a A, history []Event, version uint64) A {
	for _, e := range history {
		a.apply(e)
	}
	a.root().version = version
	return a
}

// raise applies a new event to the aggregate and records it as a change.
func raise(a Aggregate, e Event) {
	a.apply(e)
	r := a.root()
	r.changes = append(r.changes, e)
}
