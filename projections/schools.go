package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// schoolsProjection is the list of schools (tenants): name, time zone and
// when each was registered. Stream: school-<id>.
type schoolsProjection struct{}

const schoolsName = "schools"

func (schoolsProjection) Name() string { return schoolsName }

func (schoolsProjection) Channels() []domain.Channel { return []domain.Channel{domain.ChannelSchool} }

func (schoolsProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS schools (
    school_id     text PRIMARY KEY,
    name          text NOT NULL,
    timezone      text NOT NULL,
    registered_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS schools_name_idx ON schools (name, school_id);
`
}

func (schoolsProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	if e.Type != domain.SchoolRegisteredType {
		return nil
	}
	ev, err := decodeAs[domain.SchoolRegistered](ctx, e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
INSERT INTO schools (school_id, name, timezone, registered_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (school_id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
    registered_at = excluded.registered_at`,
		tenantOf(e, ev.SchoolID), ev.Name, ev.Timezone, ev.At)
	return err
}
