package domain

import (
	"errors"
	"strings"
	"time"
)

// PlatformSchoolID is the tenant of platform-wide facts, such as a
// maintenance window, which belong to no one school. Every event carries
// a school in its metadata and body (the store refuses an event without
// one, and Kafka consumers dead-letter a message without ce_schoolid), so
// a platform-wide event names this reserved tenant rather than none or a
// made-up school: its CloudEvents ce_source is
// /edusmarthub/schools/platform and ce_schoolid "platform". School IDs are
// UUIDs, so it names no real school (School.Register refuses it), and as
// every read and live feed is filtered by the caller's school, no school's
// users see these events as theirs: platform admins read them through the
// platform routes (GET /v1/maintenance, the workflow status API).
const PlatformSchoolID = "platform"

// Maintenance is a platform-wide maintenance window: scheduled by a
// platform admin for a future period of at most MaxMaintenanceWindow,
// started and ended on the system channel, or cancelled before it ends
// (stream maintenance-<id>). While a read-only window is started and not
// ended, the API refuses commands.
type Maintenance struct {
	Root
	title       string
	description string
	startsAt    time.Time
	endsAt      time.Time
	readOnly    bool
	status      MaintenanceStatus
	scheduledBy string
	reason      string // why it was cancelled
}

// MaintenanceStatus is where a maintenance window stands. Stored values:
// append-only, never rename.
type MaintenanceStatus string

const (
	MaintenanceStatusScheduled MaintenanceStatus = "scheduled"
	MaintenanceStatusStarted   MaintenanceStatus = "started"
	MaintenanceStatusEnded     MaintenanceStatus = "ended"
	MaintenanceStatusCancelled MaintenanceStatus = "cancelled"
)

// MaintenanceStatusFromString parses a maintenance status (for query
// filters).
func MaintenanceStatusFromString(field, s string) (MaintenanceStatus, error) {
	switch st := MaintenanceStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case MaintenanceStatusScheduled, MaintenanceStatusStarted, MaintenanceStatusEnded, MaintenanceStatusCancelled:
		return st, nil
	case "":
		return "", Invalid(field, "is required")
	}
	return "", Invalid(field, "%q is not a maintenance status (scheduled, started, ended, cancelled)", s)
}

func (s MaintenanceStatus) IsZero() bool   { return s == "" }
func (s MaintenanceStatus) String() string { return string(s) }

// Sentinels of the maintenance window.
var (
	ErrMaintenanceExists   = errors.New("maintenance window already scheduled")
	ErrMaintenanceNotFound = errors.New("maintenance window not found")
	// ErrMaintenanceNotDue: starting a window before its start time.
	ErrMaintenanceNotDue = errors.New("maintenance window has not begun")
	// ErrMaintenanceNotStarted: ending a window that was never started.
	ErrMaintenanceNotStarted = errors.New("maintenance window has not started")
	// ErrMaintenanceStarted: starting a window twice.
	ErrMaintenanceStarted = errors.New("maintenance window already started")
	// ErrMaintenanceOver: the window is ended or cancelled.
	ErrMaintenanceOver = errors.New("maintenance window is over")
)

// MaxMaintenanceWindow is the longest a maintenance window may last.
const MaxMaintenanceWindow = 24 * time.Hour

const (
	maxMaintenanceTitle       = 200
	maxMaintenanceDescription = 4000
	maxMaintenanceReason      = 500
)

// NewMaintenance returns the blank maintenance window with the given ID, to
// load its stream into. It validates nothing: Schedule checks the ID.
func NewMaintenance(id string) *Maintenance { return &Maintenance{Root: Root{id: id}} }

// StreamID is "maintenance-<id>".
func (mt *Maintenance) StreamID() string { return "maintenance-" + mt.id }

// MaintenanceInput is the input of Maintenance.Schedule.
type MaintenanceInput struct {
	Title       string
	Description string // optional
	StartsAt    time.Time
	EndsAt      time.Time
	ReadOnly    bool // commands are refused while the window is on
	ScheduledBy string
}

// Schedule plans the window: it starts after at and ends after it starts,
// at most MaxMaintenanceWindow later.
func (mt *Maintenance) Schedule(in MaintenanceInput, at time.Time) error {
	if err := RequireID("maintenanceId", mt.id); err != nil {
		return err
	}
	title, err := RequireText("title", in.Title, maxMaintenanceTitle)
	if err != nil {
		return err
	}
	description, err := optionalText("description", in.Description, maxMaintenanceDescription)
	if err != nil {
		return err
	}
	switch {
	case in.StartsAt.IsZero():
		return Invalid("startsAt", "is required")
	case !in.StartsAt.After(at):
		return Invalid("startsAt", "%s is not in the future", in.StartsAt.UTC().Format(time.RFC3339))
	case in.EndsAt.IsZero():
		return Invalid("endsAt", "is required")
	case !in.EndsAt.After(in.StartsAt):
		return Invalid("endsAt", "%s is not after startsAt", in.EndsAt.UTC().Format(time.RFC3339))
	case in.EndsAt.Sub(in.StartsAt) > MaxMaintenanceWindow:
		return Invalid("endsAt", "the window lasts %s, at most %s is allowed", in.EndsAt.Sub(in.StartsAt), MaxMaintenanceWindow)
	}
	if err := RequireID("scheduledBy", in.ScheduledBy); err != nil {
		return err
	}
	if mt.status != "" {
		return ruleError(KindConflict, "", ErrMaintenanceExists, "maintenance window %s is already scheduled", mt.id)
	}
	raise(mt, MaintenanceScheduled{
		MaintenanceID: mt.id,
		SchoolID:      PlatformSchoolID,
		Title:         title,
		Description:   description,
		StartsAt:      in.StartsAt.UTC(),
		EndsAt:        in.EndsAt.UTC(),
		ReadOnly:      in.ReadOnly,
		ScheduledBy:   in.ScheduledBy,
		At:            at.UTC(),
	})
	return nil
}

// Start begins a scheduled window, not before its start time. A window
// started late (the service was down) still starts, so that what it
// announced happens and is recorded; ending it follows.
func (mt *Maintenance) Start(at time.Time) error {
	if err := mt.requireOpen(); err != nil {
		return err
	}
	if mt.status == MaintenanceStatusStarted {
		return ruleError(KindConflict, "", ErrMaintenanceStarted, "maintenance window %s is already started", mt.id)
	}
	if at.Before(mt.startsAt) {
		return ruleError(KindConflict, "", ErrMaintenanceNotDue, "maintenance window %s starts at %s",
			mt.id, mt.startsAt.Format(time.RFC3339))
	}
	raise(mt, MaintenanceStarted{
		MaintenanceID: mt.id,
		SchoolID:      PlatformSchoolID,
		StartsAt:      mt.startsAt,
		EndsAt:        mt.endsAt,
		ReadOnly:      mt.readOnly,
		At:            at.UTC(),
	})
	return nil
}

// End closes a started window, at its end time or earlier when the work is
// done.
func (mt *Maintenance) End(at time.Time) error {
	if err := mt.requireOpen(); err != nil {
		return err
	}
	if mt.status == MaintenanceStatusScheduled {
		return ruleError(KindConflict, "", ErrMaintenanceNotStarted, "maintenance window %s has not started", mt.id)
	}
	raise(mt, MaintenanceEnded{MaintenanceID: mt.id, SchoolID: PlatformSchoolID, At: at.UTC()})
	return nil
}

// Cancel calls off a window before it ends: a scheduled one never starts,
// a started one stops at once.
func (mt *Maintenance) Cancel(reason, by string, at time.Time) error {
	reason, err := RequireText("reason", reason, maxMaintenanceReason)
	if err != nil {
		return err
	}
	if err := RequireID("cancelledBy", by); err != nil {
		return err
	}
	if err := mt.requireOpen(); err != nil {
		return err
	}
	raise(mt, MaintenanceCancelled{MaintenanceID: mt.id, SchoolID: PlatformSchoolID, Reason: reason, CancelledBy: by, At: at.UTC()})
	return nil
}

// requireOpen checks the window exists and is not over (ended or
// cancelled).
func (mt *Maintenance) requireOpen() error {
	switch mt.status {
	case "":
		return ruleError(KindNotFound, "", ErrMaintenanceNotFound, "maintenance window %s does not exist", mt.id)
	case MaintenanceStatusEnded, MaintenanceStatusCancelled:
		return ruleError(KindConflict, "", ErrMaintenanceOver, "maintenance window %s is %s", mt.id, mt.status)
	}
	return nil
}

func (mt *Maintenance) apply(e Event) {
	switch e := e.(type) {
	case MaintenanceScheduled:
		mt.title, mt.description, mt.scheduledBy = e.Title, e.Description, e.ScheduledBy
		mt.startsAt, mt.endsAt, mt.readOnly = e.StartsAt, e.EndsAt, e.ReadOnly
		mt.status = MaintenanceStatusScheduled
	case MaintenanceStarted:
		mt.status = MaintenanceStatusStarted
	case MaintenanceEnded:
		mt.status = MaintenanceStatusEnded
	case MaintenanceCancelled:
		mt.status, mt.reason = MaintenanceStatusCancelled, e.Reason
	}
}

// Status is scheduled, started, ended or cancelled; zero before Schedule.
func (mt *Maintenance) Status() MaintenanceStatus { return mt.status }
func (mt *Maintenance) Title() string             { return mt.title }
func (mt *Maintenance) Description() string       { return mt.description }
func (mt *Maintenance) StartsAt() time.Time       { return mt.startsAt }
func (mt *Maintenance) EndsAt() time.Time         { return mt.endsAt }
func (mt *Maintenance) ReadOnly() bool            { return mt.readOnly }
func (mt *Maintenance) ScheduledBy() string       { return mt.scheduledBy }
func (mt *Maintenance) CancelReason() string      { return mt.reason }

// Events of the maintenance window, on the system channel. Their schoolId
// (and metadata school) is PlatformSchoolID.
var (
	MaintenanceScheduledType = register[MaintenanceScheduled](ChannelSystem)
	MaintenanceStartedType   = register[MaintenanceStarted](ChannelSystem)
	MaintenanceEndedType     = register[MaintenanceEnded](ChannelSystem)
	MaintenanceCancelledType = register[MaintenanceCancelled](ChannelSystem)
)

// MaintenanceScheduled: a maintenance window was planned.
type MaintenanceScheduled struct {
	MaintenanceID string    `json:"maintenanceId"`
	SchoolID      string    `json:"schoolId"`
	Title         string    `json:"title"`
	Description   string    `json:"description,omitempty"`
	StartsAt      time.Time `json:"startsAt"`
	EndsAt        time.Time `json:"endsAt"`
	ReadOnly      bool      `json:"readOnly"`
	ScheduledBy   string    `json:"scheduledBy"`
	At            time.Time `json:"at"`
}

func (MaintenanceScheduled) EventType() string { return "maintenance.scheduled.v1" }

// MaintenanceStarted: the window began; its planned end and mode are
// repeated so a consumer needs no earlier event.
type MaintenanceStarted struct {
	MaintenanceID string    `json:"maintenanceId"`
	SchoolID      string    `json:"schoolId"`
	StartsAt      time.Time `json:"startsAt"`
	EndsAt        time.Time `json:"endsAt"`
	ReadOnly      bool      `json:"readOnly"`
	At            time.Time `json:"at"`
}

func (MaintenanceStarted) EventType() string { return "maintenance.started.v1" }

// MaintenanceEnded: the window is over.
type MaintenanceEnded struct {
	MaintenanceID string    `json:"maintenanceId"`
	SchoolID      string    `json:"schoolId"`
	At            time.Time `json:"at"`
}

func (MaintenanceEnded) EventType() string { return "maintenance.ended.v1" }

// MaintenanceCancelled: the window was called off before it ended (if it
// had started, it stops now).
type MaintenanceCancelled struct {
	MaintenanceID string    `json:"maintenanceId"`
	SchoolID      string    `json:"schoolId"`
	Reason        string    `json:"reason"`
	CancelledBy   string    `json:"cancelledBy"`
	At            time.Time `json:"at"`
}

func (MaintenanceCancelled) EventType() string { return "maintenance.cancelled.v1" }
