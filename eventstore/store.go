// Package eventstore holds the port every event store adapter implements:
// append to a stream with an expected version, read a stream, read and
// follow the global log. The store is the only source of truth of the
// system; adapters live in sub-packages (postgres, kurrentdb) and all pass
// the contract suite in eventstore/storetest.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is a stream's version: the number of events in it. The first
// event of a stream has version 1, so an empty (missing) stream is at 0.
type Version = uint64

// Position is an event's place in the global log. Positions are unique and
// handed out by the store; reading the log "from" a position returns the
// events that follow that event in log (commit) order. Position 0 is the
// start of the log.
type Position = uint64

// ExpectedVersion is the optimistic-concurrency condition of an append.
type ExpectedVersion struct {
	kind    expectedKind
	version Version
}

type expectedKind uint8

const (
	expectAny expectedKind = iota
	expectNoStream
	expectExact
)

// Any appends whatever the stream's version is.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream appends only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// Exact appends only if the stream is at version v. Exact(0) is NoStream.
func Exact(v Version) ExpectedVersion {
	if v == 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// IsAny reports whether the append is unconditional.
func (e ExpectedVersion) IsAny() bool { return e.kind == expectAny }

// Version returns the version the stream must be at, and false for Any.
// NoStream is version 0.
func (e ExpectedVersion) Version() (Version, bool) {
	switch e.kind {
	case expectNoStream:
		return 0, true
	case expectExact:
		return e.version, true
	default:
		return 0, false
	}
}

func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectExact:
		return fmt.Sprintf("version %d", e.version)
	default:
		return "any"
	}
}

// Metadata travels with every event. School and actor are mandatory: every
// event belongs to one tenant and was caused by someone (DESIGN.md rule 4).
type Metadata struct {
	SchoolID      string `json:"schoolId"`
	ActorID       string `json:"actorId"`
	ActorRole     string `json:"actorRole,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	CausationID   string `json:"causationId,omitempty"`
	RequestID     string `json:"requestId,omitempty"`
}

// EventData is an event to append. Data is the event's JSON body.
type EventData struct {
	ID       uuid.UUID
	Type     string
	Data     []byte
	Metadata Metadata
}

// RecordedEvent is an event as the store holds it.
type RecordedEvent struct {
	ID         uuid.UUID
	StreamID   string
	Version    Version
	Position   Position
	Type       string
	Data       []byte
	Metadata   Metadata
	RecordedAt time.Time
}

// AppendResult is what a successful append returns: the stream's version
// after the append and the global position of the last event appended.
// For an idempotent re-append they describe the events already stored.
type AppendResult struct {
	Version  Version
	Position Position
}

// Store is the event store port.
type Store interface {
	// Append adds events to the end of a stream if the stream is at the
	// expected version, atomically: all or none. Appending events whose IDs
	// are already the stream's events, in the same order, is a no-op success.
	// A wrong expected version returns an error matching ErrVersionConflict.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error)

	// ReadStream returns up to limit events of a stream with a version
	// greater than after, in version order. A missing stream reads as no
	// events, not an error. limit <= 0 means no limit.
	ReadStream(ctx context.Context, stream string, after Version, limit int) ([]RecordedEvent, error)

	// ReadAll returns up to limit events of the global log that follow the
	// event at position after (0: from the start), in log order. The log
	// never shows an event after one that follows it: a reader that resumes
	// from the last position it saw never skips an event.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)

	// SubscribeAll calls fn for every event of the global log after the
	// given position, in log order, then for every event appended later,
	// until ctx is done (it then returns ctx.Err()) or fn returns an error
	// (returned as is).
	SubscribeAll(ctx context.Context, after Position, fn func(context.Context, RecordedEvent) error) error

	// Head returns the position of the last event in the log (0 if empty).
	Head(ctx context.Context) (Position, error)
}

// ErrVersionConflict is matched (errors.Is) by the error of an append whose
// expected version was wrong.
var ErrVersionConflict = errors.New("eventstore: wrong expected version")

// ErrInvalidAppend is matched by the error of an append that can never
// succeed as given: no events, an empty stream name, an event without ID or
// type, a duplicate event ID, or event IDs that exist elsewhere.
var ErrInvalidAppend = errors.New("eventstore: invalid append")

// ErrPositionNotFound is returned by ReadAll and SubscribeAll for a position
// that is not an event's position.
var ErrPositionNotFound = errors.New("eventstore: no event at position")

// ConflictError details a version conflict.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   Version
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %q expected at %s, is at version %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrVersionConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrVersionConflict }

// Validate checks the parts of an append that do not depend on the store.
// Adapters call it first so every adapter rejects the same inputs.
func Validate(stream string, events []EventData) error {
	if stream == "" {
		return fmt.Errorf("%w: empty stream name", ErrInvalidAppend)
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: no events for stream %q", ErrInvalidAppend, stream)
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		switch {
		case e.ID == uuid.Nil:
			return fmt.Errorf("%w: event %d of stream %q has no ID", ErrInvalidAppend, i, stream)
		case e.Type == "":
			return fmt.Errorf("%w: event %d of stream %q has no type", ErrInvalidAppend, i, stream)
		case len(e.Data) == 0:
			return fmt.Errorf("%w: event %d of stream %q has no data", ErrInvalidAppend, i, stream)
		case e.Metadata.SchoolID == "":
			return fmt.Errorf("%w: event %d of stream %q has no school in its metadata", ErrInvalidAppend, i, stream)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("%w: event ID %s appears twice", ErrInvalidAppend, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

// Category is the kind of a stream: the part of its ID before the first
// "-" ("teacher" for teacher-<id>), or the whole ID when it has none.
func Category(stream string) string {
	if i := strings.IndexByte(stream, '-'); i >= 0 {
		return stream[:i]
	}
	return stream
}
