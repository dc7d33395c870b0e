package projections

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// EventRate is the number of events of a channel recorded in a minute.
type EventRate struct {
	Minute  time.Time `json:"minute"`
	Channel string    `json:"channel"`
	Events  int64     `json:"events"`
}

// EventRateFilter bounds an event-rate query to [From, To) (at most
// MaxEventRateWindow) and optionally one channel. A zero From is the
// DefaultEventRateWindow up to the latest minute with events; a zero To is
// the end of that minute.
type EventRateFilter struct {
	Channel  string
	From, To time.Time
}

// Event-rate windows.
const (
	DefaultEventRateWindow = time.Hour
	MaxEventRateWindow     = 24 * time.Hour
)

// EventRates returns a school's events per channel per minute, oldest
// first; minutes without events are absent.
func EventRates(ctx context.Context, db Querier, schoolID string, f EventRateFilter) ([]EventRate, error) {
	if err := requireSchool(schoolID); err != nil {
		return nil, err
	}
	return eventRates(ctx, db, &schoolID, f)
}

// SystemEventRates is EventRates summed over every school: for platform
// admins only (the HTTP layer's check).
func SystemEventRates(ctx context.Context, db Querier, f EventRateFilter) ([]EventRate, error) {
	return eventRates(ctx, db, nil, f)
}

func eventRates(ctx context.Context, db Querier, schoolID *string, f EventRateFilter) ([]EventRate, error) {
	if f.Channel != "" && f.Channel != UnknownChannel && !isChannel(f.Channel) {
		return nil, domain.Invalid("channel", "%q is not a channel (%s)", f.Channel, channelList())
	}
	from, to := f.From.UTC(), f.To.UTC()
	if from.IsZero() || to.IsZero() {
		var latest *time.Time
		if err := db.QueryRow(ctx, `SELECT max(minute) FROM rm_monitoring.event_counts WHERE ($1::text IS NULL OR school_id = $1)`,
			schoolID).Scan(&latest); err != nil {
			return nil, err
		}
		if latest == nil {
			return []EventRate{}, nil
		}
		if to.IsZero() {
			to = latest.UTC().Add(time.Minute)
		}
		if from.IsZero() {
			from = to.Add(-DefaultEventRateWindow)
		}
	}
	switch {
	case !from.Before(to):
		return nil, domain.Invalid("from", "must be before to")
	case to.Sub(from) > MaxEventRateWindow:
		return nil, domain.Invalid("from", "the window is longer than %s", MaxEventRateWindow)
	}
	var q sqlQuery
	if schoolID != nil {
		q.where("school_id = " + q.arg(*schoolID))
	}
	q.where("minute >= " + q.arg(from))
	q.where("minute < " + q.arg(to))
	if f.Channel != "" {
		q.where("channel = " + q.arg(f.Channel))
	}
	rows, err := db.Query(ctx, `SELECT minute, channel, sum(events)::bigint FROM rm_monitoring.event_counts`+q.whereSQL()+
		` GROUP BY minute, channel ORDER BY minute, channel`, q.args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(r pgx.Rows) (EventRate, error) {
		var x EventRate
		err := r.Scan(&x.Minute, &x.Channel, &x.Events)
		return x, err
	})
	if out == nil && err == nil {
		out = []EventRate{}
	}
	return out, err
}

func isChannel(s string) bool {
	for _, c := range domain.Channels() {
		if string(c) == s {
			return true
		}
	}
	return false
}

// SystemSources are the monitoring figures that do not live in the read
// models' database, supplied by the caller.
type SystemSources struct {
	// Head returns the event store's head position (eventstore.Store.Head).
	Head func(ctx context.Context) (uint64, error)
	// Backlog counts the events of the log after a position, in log
	// order (eventstore/postgres.Backlog): the log readers' lag. Nil:
	// their lag is the head minus their position, exact when a reader has
	// caught up and otherwise off by the positions never used (appends
	// rolled back).
	Backlog func(ctx context.Context, after eventstore.Position) (uint64, error)
	// DeadLetters counts the dead letters waiting on the dead-letter topic,
	// not yet re-driven (transport/kafka's PendingDeadLetters). Nil:
	// unknown.
	DeadLetters func(ctx context.Context) (int, error)
	// ConsumerLag returns, by projection name, the events delivered to
	// its consumer and not yet applied: its Kafka consumer group's lag
	// (transport/kafka's LagReader). Nil, failing, or silent about a
	// projection: its lag is the head minus its position instead, an
	// upper bound.
	ConsumerLag func(ctx context.Context) (map[string]int64, error)
}

// The figures of SystemStatus.Unavailable.
const (
	FigureConsumerLag = "consumerLag"
	FigureDeadLetters = "deadLetters"
)

// SystemStatus is the state of the event pipeline.
type SystemStatus struct {
	StoreHead   uint64          `json:"storeHead"`
	Readers     []ReaderLag     `json:"readers"`     // the relay and other log readers with a checkpoint
	Projections []ProjectionLag `json:"projections"` // every read model of All
	DeadLetters *int            `json:"deadLetters,omitempty"`
	// Unavailable names the figures whose source failed (Kafka down, say)
	// with the error: the status is still given, since that is when it is
	// needed most. Without the consumer lag, the projections' lags are
	// upper bounds (ProjectionLag); without the dead letters, their count
	// is left out.
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// ReaderLag is a checkpointed reader of the store's log (the Kafka relay):
// its position and how many events of the log follow it (see
// SystemSources.Backlog).
type ReaderLag struct {
	Name      string    `json:"name"`
	Position  uint64    `json:"position"`
	UpdatedAt time.Time `json:"updatedAt"`
	Lag       uint64    `json:"lag"`
}

// ProjectionLag is a read model's progress: the streams it has applied,
// the highest log position among them and when it last applied one.
//
// Lag is what its Kafka consumer has been given and not yet applied (the
// consumer group's lag; the relay's lag is the events not given to Kafka
// yet). Without the consumer lag (SystemSources) it is the head minus
// Position: an upper bound, far above the truth for a read model whose
// channels are quiet, since a projection only sees the events of its
// channels. Exists is false while the read model's schema has not been
// created.
type ProjectionLag struct {
	Name      string     `json:"name"`
	Exists    bool       `json:"exists"`
	Streams   int64      `json:"streams"`
	Position  uint64     `json:"position"`
	AppliedAt *time.Time `json:"appliedAt,omitempty"`
	Lag       uint64     `json:"lag"`
}

// GetSystemStatus reads the pipeline's positions and lags. It is a
// system-wide view: for platform admins only (the HTTP layer's check).
func GetSystemStatus(ctx context.Context, db Querier, src SystemSources) (SystemStatus, error) {
	// The Kafka figures come from elsewhere and may be slow: asked for
	// first, and both at once, while the database is read. An early
	// return stops waiting for them (cancel, then Wait).
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg                      sync.WaitGroup
		consumerLag             map[string]int64
		deadLetters             int
		consumerLagErr, deadErr error
	)
	if src.ConsumerLag != nil {
		wg.Go(func() { consumerLag, consumerLagErr = src.ConsumerLag(ctx) })
	}
	if src.DeadLetters != nil {
		wg.Go(func() { deadLetters, deadErr = src.DeadLetters(ctx) })
	}
	defer wg.Wait()
	defer cancel()
	var st SystemStatus
	if src.Head != nil {
		h, err := src.Head(ctx)
		if err != nil {
			return SystemStatus{}, err
		}
		st.StoreHead = h
	}
	lag := func(p uint64) uint64 {
		if st.StoreHead > p {
			return st.StoreHead - p
		}
		return 0
	}
	var hasCheckpoints bool
	if err := db.QueryRow(ctx, `SELECT to_regclass('public.checkpoints') IS NOT NULL`).Scan(&hasCheckpoints); err != nil {
		return SystemStatus{}, err
	}
	st.Readers = []ReaderLag{}
	if hasCheckpoints {
		rows, err := db.Query(ctx, `SELECT name, position, updated_at FROM public.checkpoints ORDER BY name`)
		if err != nil {
			return SystemStatus{}, err
		}
		readers, err := collect(rows, func(r pgx.Rows) (ReaderLag, error) {
			var x ReaderLag
			var pos int64
			err := r.Scan(&x.Name, &pos, &x.UpdatedAt)
			x.Position = uint64(pos)
			return x, err
		})
		if err != nil {
			return SystemStatus{}, err
		}
		for i, x := range readers {
			if src.Backlog == nil {
				readers[i].Lag = lag(x.Position)
			} else if readers[i].Lag, err = src.Backlog(ctx, eventstore.Position(x.Position)); err != nil {
				return SystemStatus{}, fmt.Errorf("lag of %s: %w", x.Name, err)
			}
		}
		if readers != nil {
			st.Readers = readers
		}
	}
	wg.Wait()
	if consumerLagErr != nil {
		st.unavailable(FigureConsumerLag, consumerLagErr)
		consumerLag = nil
	}
	for _, p := range All() {
		pl := ProjectionLag{Name: p.Name()}
		table := pgx.Identifier{SchemaName(p.Name()), "applied"}.Sanitize()
		if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&pl.Exists); err != nil {
			return SystemStatus{}, err
		}
		if pl.Exists {
			var pos int64
			if err := db.QueryRow(ctx, `SELECT count(*), coalesce(max(position), 0), max(applied_at) FROM `+table).
				Scan(&pl.Streams, &pos, &pl.AppliedAt); err != nil {
				return SystemStatus{}, err
			}
			pl.Position = uint64(pos)
		}
		if n, ok := consumerLag[p.Name()]; ok {
			pl.Lag = uint64(max(n, 0))
		} else { // unknown: the upper bound
			pl.Lag = lag(pl.Position)
		}
		st.Projections = append(st.Projections, pl)
	}
	if src.DeadLetters != nil {
		if deadErr != nil {
			st.unavailable(FigureDeadLetters, deadErr)
		} else {
			st.DeadLetters = &deadLetters
		}
	}
	return st, nil
}

func (st *SystemStatus) unavailable(figure string, err error) {
	if st.Unavailable == nil {
		st.Unavailable = map[string]string{}
	}
	st.Unavailable[figure] = err.Error()
}

// channelList is the valid channel names, for error messages.
func channelList() string {
	names := make([]string, 0, len(domain.Channels()))
	for _, c := range domain.Channels() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}
