// Package kurrentdb is the KurrentDB (EventStoreDB) adapter of the event
// store port, built on github.com/EventStore/EventStore-Client-Go/v4. It
// passes the same contract suite (eventstore/storetest) as the PostgreSQL
// adapter. It needs KurrentDB (or EventStoreDB) 23.10 or later, whose
// catch-up subscriptions say when they are caught up, and a user that may
// read $all (by default: an admin).
//
// # Versions and expected versions
//
// Our versions count from 1, KurrentDB's revisions from 0: version v is
// revision v-1, and an empty stream (version 0) is "no stream". Any,
// NoStream and Exact(v) map to esdb.Any, esdb.NoStream and esdb.Revision(v-1).
// KurrentDB's wrong-expected-version answer becomes *eventstore.ConflictError
// with the stream's actual version, taken from the answer itself.
//
// # Positions
//
// The port's Position is one number; a KurrentDB position has two, commit
// and prepare. The adapter uses the commit position, which is lossless for
// every event it writes:
//
//   - KurrentDB's docs describe an event's position in $all as "its logical
//     position ... represented by CommitPosition and a PreparePosition"
//     (docs.kurrent.io, clients/grpc/reading-events). The two differ only
//     for events of an explicit transaction (the legacy TCP API), whose
//     events share the commit record's position. gRPC appends have no
//     transactions: KurrentDB writes each event of an append as its own
//     prepare record flagged as committed, and reads of $all report such an
//     event at commit = prepare = the record's log position (KurrentDB
//     source: AllReader.ReadAllEventsForward, "IsCommitAlike" records get
//     CommitEventRecord(event, event.LogPosition)). So commit positions are
//     unique per event and grow in log order.
//   - An append answers with the log position of its last event as both
//     parts (RequestManager WriteEvents: "CommitPosition, CommitPosition"),
//     which is what the port's AppendResult.Position means.
//
// Inside the adapter a position P is the KurrentDB position {P, P}: reads
// of $all start from {P, P}, and subscriptions resume from the full
// {commit, prepare} of the last event or checkpoint they saw. An event
// read back with commit != prepare (written by a legacy transaction) has
// no single-number position; reading it is an error, never a silent skip.
// Position 0 is the start of $all: KurrentDB's log begins with an epoch
// record at 0, so no event is at 0. A position that is not an event's is
// refused by KurrentDB ("Trying to read from an invalid position",
// InvalidArgument) or lies beyond the log: both are
// eventstore.ErrPositionNotFound.
//
// # Reading $all
//
// ReadAll and SubscribeAll read $all with a server-side filter that leaves
// out KurrentDB's own events: event types starting with $ (the client's
// ExcludeSystemEventsFilter), or, in a namespace (WithNamespace), streams
// outside it. Events of $-prefixed streams are also dropped on the client
// side. Client v4.2.0 offers server-side filters only on subscriptions, so
// ReadAll is a filtered catch-up subscription that stops at the limit or
// when the server says it has caught up: what it returns is everything
// committed before the call, in log order. KurrentDB has one writer
// thread and shows an event in $all only once it is committed, so a
// reader that resumes after the last position it saw never skips one.
//
// SubscribeAll is the same subscription left open. When it drops (a
// server restart, a network failure), it resubscribes from the last
// position it saw, an event's or a checkpoint's, with backoff, and gives
// up after WithRetry's attempts in a row without progress. The handler
// sees every event once, in log order.
//
// # Idempotency and event IDs
//
// The port promises: re-appending the same event IDs, in the same order,
// to the same stream, is a no-op success describing what is stored,
// whatever the expected version; anything else that reuses a stored ID is
// an invalid append, including an ID stored in another stream. KurrentDB
// does part of this itself: the same IDs appended again at the same
// expected revision are an idempotent success (docs.kurrent.io, clients
// appending-events: "If you call append_to_stream() twice with the same
// event IDs and the same current_version then the second call will
// succeed idempotently"). It does not do the rest: with an expected
// revision equal to the stream's current one it writes the IDs again,
// with "any" it accepts stored IDs in any order, and it never looks at
// other streams.
//
// So the adapter claims every event ID before it appends: one append per
// event to the stream edusmarthub-eventid-<id> (or -<namespace>-<id>),
// expecting "no stream", with an event of type $edusmarthub-event-id
// naming the stream the ID belongs to. The claim is KurrentDB's own
// optimistic concurrency doing the uniqueness check: two claims of one ID
// cannot both succeed. When every claim is new, the IDs are new and the
// append goes ahead. When a claim exists for another stream, the append
// is invalid. When one exists for this stream, the append may be a retry:
// the adapter reads the stream back (newest first) for the IDs and either
// answers with what is stored, refuses an append that only partly
// matches, or, if none is stored (an earlier append with these IDs
// failed), appends. An ID therefore belongs to the first stream an append
// named it for, even if that append failed. Claims cost one extra append
// per event, done concurrently; their $-typed events are invisible to
// ReadAll and SubscribeAll and to any $all reader that excludes system
// events.
//
// # Metadata
//
// eventstore.Metadata is stored as JSON in the event's user metadata, with
// $correlationId and $causationId added under KurrentDB's names so its
// $by_correlation_id projection works. Data must be JSON (content type
// application/json).
//
// # Namespaces
//
// WithNamespace stores stream s as <namespace>/s and reads $all with a
// stream-prefix filter on <namespace>/, so several stores can share one
// KurrentDB, each seeing only its own log (the contract tests against a
// real KurrentDB use one per test).
package kurrentdb
