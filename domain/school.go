package domain

import (
	"errors"
	"fmt"
	"time"
)

// School is a tenant: every other aggregate belongs to one school.
type School struct {
	Root
	name         string
	timezone     string
	registered   bool
	registeredAt time.Time
}

// Sentinels of the school aggregate, matched with errors.Is.
var (
	ErrSchoolAlreadyRegistered = errors.New("school is already registered")
	ErrSchoolNotFound          = errors.New("school not found")
)

// Limits of free-text fields shared by the people aggregates.
const (
	maxNameLen     = 200
	maxTimezoneLen = 64
	maxReasonLen   = 500
)

// SchoolRegistered: a school (tenant) was registered.
type SchoolRegistered struct {
	SchoolID string    `json:"schoolId"`
	Name     string    `json:"name"`
	Timezone string    `json:"timezone"`
	At       time.Time `json:"at"`
}

var SchoolRegisteredType = register[SchoolRegistered](ChannelSchool)

func (SchoolRegistered) EventType() string { return "school.registered.v1" }

// NewSchool returns the blank school with the given ID, for loading its
// stream. It validates nothing: Register does, when the school is created.
func NewSchool(id string) *School { return &School{Root: Root{id: id}} }

// StreamID is "school-<id>".
func (s *School) StreamID() string { return "school-" + s.id }

// Register creates the school. The timezone must already have been checked
// against the time zone database by the caller (the domain does no I/O);
// here it is only required and bounded in length.
func (s *School) Register(name, timezone string, at time.Time) error {
	if err := RequireID("id", s.id); err != nil {
		return err
	}
	if s.id == PlatformSchoolID {
		return Invalid("id", "%q is reserved for platform-wide events", PlatformSchoolID)
	}
	name, err := RequireText("name", name, maxNameLen)
	if err != nil {
		return err
	}
	timezone, err = RequireText("timezone", timezone, maxTimezoneLen)
	if err != nil {
		return err
	}
	if s.registered {
		return ruleError(KindConflict, "", ErrSchoolAlreadyRegistered, "school %s is already registered", s.id)
	}
	raise(s, SchoolRegistered{SchoolID: s.id, Name: name, Timezone: timezone, At: at.UTC()})
	return nil
}

func (s *School) apply(e Event) {
	switch e := e.(type) {
	case SchoolRegistered:
		s.registered = true
		s.name, s.timezone, s.registeredAt = e.Name, e.Timezone, e.At
	}
}

// Exists reports whether the school has been registered.
func (s *School) Exists() bool { return s.registered }

// RequireExists returns a not-found error (ErrSchoolNotFound) unless the
// school is registered; the command layer checks it before creating
// anything in a school.
func (s *School) RequireExists() error {
	if !s.registered {
		return ruleError(KindNotFound, "", ErrSchoolNotFound, "school %s not found", s.id)
	}
	return nil
}

func (s *School) Name() string            { return s.name }
func (s *School) Timezone() string        { return s.timezone }
func (s *School) RegisteredAt() time.Time { return s.registeredAt }

// ruleError builds a rule error that is an instance of sentinel (nil for
// none), so callers can both errors.Is it and read its kind and field.
func ruleError(kind Kind, field string, sentinel error, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...), Err: sentinel}
}
