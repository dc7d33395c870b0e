package domain

import (
	"errors"
	"fmt"
)

// Kind classifies domain failures so the edges can map them (HTTP status,
// saga compensation) in one place without knowing every error.
type Kind uint8

const (
	KindInvalid   Kind = iota + 1 // the input breaks a rule of its own (400)
	KindNotFound                  // the target does not exist (404)
	KindConflict                  // the target's state forbids it (409)
	KindForbidden                 // the actor may not do it (403)
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	}
	return "unknown"
}

// Error is a rule violation with detail: its kind, the input field it is
// about (camelCase, as in the public API; empty when none) and a message
// for people. Sentinels below are matched with errors.Is.
type Error struct {
	Kind    Kind
	Field   string
	Message string
	// Err is the sentinel this error is an instance of, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid returns a KindInvalid error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, or 0 if it is no domain error.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}
