// Package domain holds the school model: aggregates, their events and
// invariants. It is pure Go: no I/O, no clock, no framework. Time and IDs
// come in through command arguments.
package domain

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Event is a fact that happened to an aggregate. Every event type has an
// explicit, versioned name (EventType) registered with its channel; the name
// is never derived from the Go type, so renaming a type orphans nothing.
type Event interface {
	EventType() string
}

// Channel is the Kafka channel (topic suffix) an event type belongs to.
type Channel string

// Channels of DESIGN.md. Stored values: append-only, never rename.
const (
	ChannelAuth          Channel = "auth"
	ChannelSchool        Channel = "school"
	ChannelTeacher       Channel = "teacher"
	ChannelStudent       Channel = "student"
	ChannelTimetable     Channel = "timetable"
	ChannelAttendance    Channel = "attendance"
	ChannelPerformance   Channel = "performance"
	ChannelCommunication Channel = "communication"
	ChannelAIServices    Channel = "ai_services"
	ChannelSystem        Channel = "system"
)

// Channels lists every channel, in a stable order.
func Channels() []Channel {
	return []Channel{ChannelAuth, ChannelSchool, ChannelTeacher, ChannelStudent, ChannelTimetable,
		ChannelAttendance, ChannelPerformance, ChannelCommunication, ChannelAIServices, ChannelSystem}
}

type registration struct {
	channel Channel
	decode  func([]byte) (Event, error)
}

var registry = map[string]registration{}

// register records an event type's name, channel and Go type. Called from
// the var blocks of the aggregate files; a duplicate name is a programming
// error caught at start-up.
func register[E Event](channel Channel) string {
	var zero E
	name := zero.EventType()
	if _, dup := registry[name]; dup {
		panic("domain: event type registered twice: " + name)
	}
	registry[name] = registration{channel: channel, decode: func(data []byte) (Event, error) {
		var e E
		err := json.Unmarshal(data, &e)
		return e, err
	}}
	return name
}

// EventTypes lists every registered event type, sorted.
func EventTypes() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ChannelOf returns the channel of an event type.
func ChannelOf(eventType string) (Channel, bool) {
	r, ok := registry[eventType]
	return r.channel, ok
}

// UnknownEventTypeError is returned when decoding an event type that is not
// registered.
type UnknownEventTypeError struct{ Type string }

func (e *UnknownEventTypeError) Error() string { return "domain: unknown event type " + e.Type }

// DecodeEvent turns a stored event body back into its Go type.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	r, ok := registry[eventType]
	if !ok {
		return nil, &UnknownEventTypeError{Type: eventType}
	}
	e, err := r.decode(data)
	if err != nil {
		return nil, fmt.Errorf("domain: decode %s: %w", eventType, err)
	}
	return e, nil
}
