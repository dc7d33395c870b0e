package projections

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/edusmarthub/edusmarthub/domain"
)

// Maintenance window states (the state column). Stored values:
// append-only.
const (
	MaintenanceScheduled = "scheduled"
	MaintenanceActive    = "active"
	MaintenanceEnded     = "ended"
	MaintenanceCancelled = "cancelled"
)

// MaintenanceWindow is a platform maintenance window.
type MaintenanceWindow struct {
	MaintenanceID string     `json:"maintenanceId"`
	Title         string     `json:"title"`
	Description   string     `json:"description"`
	StartsAt      time.Time  `json:"startsAt"`
	EndsAt        time.Time  `json:"endsAt"`
	ReadOnly      bool       `json:"readOnly"`
	State         string     `json:"state"` // scheduled | active | ended | cancelled
	ScheduledBy   string     `json:"scheduledBy"`
	ScheduledAt   *time.Time `json:"scheduledAt,omitempty"`
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	EndedAt       *time.Time `json:"endedAt,omitempty"`
	CancelledAt   *time.Time `json:"cancelledAt,omitempty"`
	CancelledBy   string     `json:"cancelledBy,omitempty"`
	CancelReason  string     `json:"cancelReason,omitempty"`
}

// MaintenanceFilter selects windows by state, latest start first.
type MaintenanceFilter struct {
	State string
	PageParams
}

const maintenanceColumns = `maintenance_id, title, description, starts_at, ends_at, read_only, state, scheduled_by,
    scheduled_at, started_at, ended_at, cancelled_at, cancelled_by, cancel_reason`

func scanMaintenance(r pgx.Row) (MaintenanceWindow, error) {
	var w MaintenanceWindow
	err := r.Scan(&w.MaintenanceID, &w.Title, &w.Description, &w.StartsAt, &w.EndsAt, &w.ReadOnly, &w.State,
		&w.ScheduledBy, &w.ScheduledAt, &w.StartedAt, &w.EndedAt, &w.CancelledAt, &w.CancelledBy, &w.CancelReason)
	return w, err
}

// MaintenanceStateFromString checks a window state filter.
func MaintenanceStateFromString(field, s string) (string, error) {
	switch st := strings.ToLower(strings.TrimSpace(s)); st {
	case MaintenanceScheduled, MaintenanceActive, MaintenanceEnded, MaintenanceCancelled:
		return st, nil
	}
	return "", domain.Invalid(field, "%q is not a maintenance state (scheduled, active, ended, cancelled)", s)
}

// GetMaintenanceWindow returns one window. Windows are platform-wide:
// whoever may read them reads them all.
func GetMaintenanceWindow(ctx context.Context, db Querier, maintenanceID string) (MaintenanceWindow, error) {
	w, err := scanMaintenance(db.QueryRow(ctx, `SELECT `+maintenanceColumns+`
FROM rm_maintenance.windows WHERE maintenance_id = $1`, maintenanceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return MaintenanceWindow{}, notFound("maintenance window %s not found", maintenanceID)
	}
	return w, err
}

// ListMaintenanceWindows lists windows, latest start first.
func ListMaintenanceWindows(ctx context.Context, db Querier, f MaintenanceFilter) (Page[MaintenanceWindow], error) {
	var q sqlQuery
	if f.State != "" {
		st, err := MaintenanceStateFromString("state", f.State)
		if err != nil {
			return Page[MaintenanceWindow]{}, err
		}
		q.where("state = " + q.arg(st))
	}
	// A cursor is bound to the state it lists.
	p, err := keyset{list: "maintenance", sort: f.State, desc: true,
		cols: []sortKey{{"starts_at", "timestamptz"}, {"maintenance_id", "text"}}}.page(f.PageParams)
	if err != nil {
		return Page[MaintenanceWindow]{}, err
	}
	return queryPage(ctx, db, p, `SELECT `+maintenanceColumns+` FROM rm_maintenance.windows`, &q,
		func(r pgx.Rows) (MaintenanceWindow, error) { return scanMaintenance(r) },
		func(w MaintenanceWindow) []string { return []string{cursorTime(w.StartsAt), w.MaintenanceID} })
}

// ReadOnlyWindow is the active read-only window that ends last, if any.
type ReadOnlyWindow struct {
	MaintenanceID string
	Title         string
	EndsAt        time.Time
}

// ActiveReadOnlyWindow returns the started, not ended, read-only window
// that ends last; ok is false when there is none (or the read model is not
// set up yet).
func ActiveReadOnlyWindow(ctx context.Context, db Querier) (w ReadOnlyWindow, ok bool, err error) {
	err = db.QueryRow(ctx, `SELECT maintenance_id, title, ends_at FROM rm_maintenance.windows
WHERE state = 'active' AND read_only ORDER BY ends_at DESC, maintenance_id LIMIT 1`).Scan(&w.MaintenanceID, &w.Title, &w.EndsAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isUndefinedTable(err):
		return ReadOnlyWindow{}, false, nil
	case err != nil:
		return ReadOnlyWindow{}, false, err
	}
	return w, true, nil
}

// isUndefinedTable reports a query of a read model whose schema or table
// does not exist yet.
func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}
