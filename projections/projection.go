// Package projections keeps the PostgreSQL read models: projectors that
// turn the event stream into tables, the runner that applies events to them
// exactly once per stream version, rebuilds from the event store, status and
// the read-your-writes wait used by the query API.
//
// Each projection owns one PostgreSQL schema, rm_<name>, holding its tables
// and its bookkeeping table applied(stream_id, version, position,
// applied_at). Projectors write unqualified table names: the runner runs
// every apply in a transaction with SET LOCAL search_path = rm_<name>,
// public, so the same code writes the live schema or a rebuild copy
// (rm_<name>__rebuild).
package projections

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Projection is one read model.
type Projection interface {
	// Name is constant, e.g. "teachers": the schema is rm_<name> and the
	// Kafka consumer group edusmarthub.projection.<name>. Renaming one
	// re-consumes its topics and orphans its schema.
	Name() string
	// Channels lists the topics the projection consumes.
	Channels() []domain.Channel
	// Schema is the DDL creating the projection's tables, with unqualified
	// names and CREATE ... IF NOT EXISTS; the runner runs it inside
	// SET search_path = <the projection's schema>.
	Schema() string
	// Apply changes the tables for one event, inside the runner's
	// transaction. Event types the projection does not handle return nil.
	//
	// The runner calls it once per stream version, in version order per
	// stream, only for event types of Channels; streams interleave in any
	// order. The same events must give the same tables however streams
	// interleave and whether they come live or from a rebuild, so Apply
	// reads nothing but the event and its own tables: times come from the
	// event (e.RecordedAt or its data), never now(); keys are natural
	// ones (IDs from the events), never serial columns.
	//
	// Apply finds rows by primary key or unique index only: a rebuild
	// builds the other indexes of its copy after the replay, so a lookup
	// through one would scan the table for every event.
	//
	// tx pipelines writes: Exec queues the statement and returns an empty
	// CommandTag (so don't branch on RowsAffected; use RETURNING through
	// QueryRow when a write's outcome matters); queued statements are sent
	// together before the next Query/QueryRow/CopyFrom/SendBatch or at
	// commit, so reads see every earlier write. Arguments passed to Exec
	// must not be modified afterwards. An error of a queued statement
	// surfaces from a later call on tx or from the runner's commit; either
	// way the whole transaction fails. Don't keep tx after Apply returns.
	// Counters (rows only ever added to) go through a counterTable, which
	// sums the additions of a transaction to each row before writing.
	Apply(ctx context.Context, tx pgx.Tx, e eventstore.RecordedEvent) error
}

// StreamFollower is optionally implemented by a projection that reads only
// some kinds of streams of its channels: their categories, the part of a
// stream ID before its first "-" ("exam" of exam-<id>). The runner does
// not apply the events of other streams nor record their versions: no
// transaction, no applied row, and a read-your-writes wait on such a
// stream is met at once. Streams are followed whole, so the versions of a
// followed stream have no gaps. Without it, every stream is followed.
type StreamFollower interface {
	StreamCategories() []string
}

// DeliveryWaiter is optionally implemented by a projection whose events
// may reach it up to DeliveryWait late, so that they come in fewer and
// larger deliveries: one that follows every channel and keeps figures no
// one needs by the millisecond (monitoring). Reads that wait for it
// (read-your-writes) wait that much longer.
type DeliveryWaiter interface {
	DeliveryWait() time.Duration
}

// SchemaVersioner is optionally implemented by a projection whose Schema or
// Apply changed in a way that needs the tables rebuilt: when the number
// differs from the one recorded with the live schema, `serve` rebuilds the
// projection at start-up before consuming.
type SchemaVersioner interface {
	SchemaVersion() int
}
