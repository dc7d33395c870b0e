package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// maintenanceProjection is the platform's maintenance windows (streams
// maintenance-<id>, system channel): each window with its times, whether
// it is read-only, and where it stands: scheduled, active (started, not
// ended), ended or cancelled. The HTTP layer reads it to refuse commands
// during an active read-only window. Windows are platform-wide: school_id
// is the tenant the events were recorded under, not a filter.
type maintenanceProjection struct{}

const maintenanceName = "maintenance"

func (maintenanceProjection) Name() string { return maintenanceName }

func (maintenanceProjection) Channels() []domain.Channel {
	return []domain.Channel{domain.ChannelSystem}
}

func (maintenanceProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS windows (
    maintenance_id text PRIMARY KEY,
    school_id      text NOT NULL,
    title          text NOT NULL DEFAULT '',
    description    text NOT NULL DEFAULT '',
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    read_only      boolean NOT NULL DEFAULT false,
    state          text NOT NULL,
    scheduled_by   text NOT NULL DEFAULT '',
    scheduled_at   timestamptz,
    started_at     timestamptz,
    ended_at       timestamptz,
    cancelled_at   timestamptz,
    cancelled_by   text NOT NULL DEFAULT '',
    cancel_reason  text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS windows_starts_idx ON windows (starts_at DESC, maintenance_id);
CREATE INDEX IF NOT EXISTS windows_active_idx ON windows (ends_at) WHERE state = 'active' AND read_only;
`
}

// Apply keeps one row per window. Every statement is an upsert so that a
// window's row converges whatever it saw first; the state only moves on
// (a started event never reopens an ended or cancelled window).
func (maintenanceProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	switch e.Type {
	case domain.MaintenanceScheduledType:
		ev, err := decodeAs[domain.MaintenanceScheduled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO windows (maintenance_id, school_id, title, description, starts_at, ends_at, read_only, state,
    scheduled_by, scheduled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', $8, $9)
ON CONFLICT (maintenance_id) DO UPDATE SET school_id = excluded.school_id, title = excluded.title,
    description = excluded.description, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
    read_only = excluded.read_only, scheduled_by = excluded.scheduled_by, scheduled_at = excluded.scheduled_at`,
			ev.MaintenanceID, e.Metadata.SchoolID, ev.Title, ev.Description, ev.StartsAt, ev.EndsAt, ev.ReadOnly,
			ev.ScheduledBy, ev.At)
		return err
	case domain.MaintenanceStartedType:
		ev, err := decodeAs[domain.MaintenanceStarted](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO windows (maintenance_id, school_id, starts_at, ends_at, read_only, state, started_at)
VALUES ($1, $2, $3, $4, $5, 'active', $6)
ON CONFLICT (maintenance_id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at,
    read_only = excluded.read_only, started_at = excluded.started_at,
    state = CASE WHEN windows.state = 'scheduled' THEN 'active' ELSE windows.state END`,
			ev.MaintenanceID, e.Metadata.SchoolID, ev.StartsAt, ev.EndsAt, ev.ReadOnly, ev.At)
		return err
	case domain.MaintenanceEndedType:
		ev, err := decodeAs[domain.MaintenanceEnded](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE windows SET state = 'ended', ended_at = $2 WHERE maintenance_id = $1`,
			ev.MaintenanceID, ev.At)
		return err
	case domain.MaintenanceCancelledType:
		ev, err := decodeAs[domain.MaintenanceCancelled](ctx, e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE windows SET state = 'cancelled', cancelled_at = $2, cancelled_by = $3,
    cancel_reason = $4 WHERE maintenance_id = $1`, ev.MaintenanceID, ev.At, ev.CancelledBy, ev.Reason)
		return err
	}
	return nil
}
