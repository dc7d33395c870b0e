package projections

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// monitoringProjection counts events per school, channel and minute (of
// the store's recording time) over every channel, for the system
// monitoring view. Counting is commutative, so any interleaving gives the
// same counts; the runner applies each event once.
//
// The rest of the monitoring figures are not events and are read when
// queried (GetSystemStatus): the relay's position from the checkpoints
// table, each projection's from its applied table, the store's head and
// the dead-letter count from functions the caller passes in.
type monitoringProjection struct{}

const monitoringName = "monitoring"

// UnknownChannel is the channel an event type the registry does not know
// is counted under.
const UnknownChannel = "unknown"

func (monitoringProjection) Name() string { return monitoringName }

func (monitoringProjection) Channels() []domain.Channel { return domain.Channels() }

// monitoringDeliveryWait: its figures are per minute, and it follows every
// channel, so taking each event the moment it is stored would make it the
// system's busiest consumer (DeliveryWaiter).
const monitoringDeliveryWait = 250 * time.Millisecond

func (monitoringProjection) DeliveryWait() time.Duration { return monitoringDeliveryWait }

func (monitoringProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS event_counts (
    school_id text NOT NULL,
    channel   text NOT NULL,
    minute    timestamptz NOT NULL,
    events    bigint NOT NULL,
    PRIMARY KEY (school_id, minute, channel)
);
CREATE INDEX IF NOT EXISTS event_counts_minute_idx ON event_counts (minute);
`
}

var eventCounts = newCounterTable("event_counts", "events",
	column{"school_id", "text"}, column{"minute", "timestamptz"}, column{"channel", "text"})

func (monitoringProjection) Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error {
	channel := UnknownChannel
	if ch, ok := domain.ChannelOf(e.Type); ok {
		channel = string(ch)
	}
	return eventCounts.add(ctx, tx, 1, e.Metadata.SchoolID, e.RecordedAt.UTC().Truncate(time.Minute), channel)
}
