package projections

import (
	"context"
	"slices"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// decodedBatch is a batch of events decoded once, for the projectors to
// read instead of each decoding the same JSON again: decoding is most of a
// rebuild's own CPU. A rebuild decodes each batch of the log in a stage of
// its own (decodeBatch), beside the next read, for every projection it
// rebuilds; a live consumer hands over the events it decoded to check them
// (WithDecoded).
type decodedBatch struct {
	at    map[eventstore.Position]int // an event's index in the batch
	slots []decoded
}

type decoded struct {
	ev  domain.Event
	err error
}

// decodeBatch decodes the events of batch that some projection being
// rebuilt wants (rebuilding exams alone decodes none of the performance
// records around its exam cycles).
func decodeBatch(batch []eventstore.RecordedEvent, wanted func(eventstore.RecordedEvent) bool) *decodedBatch {
	d := &decodedBatch{at: make(map[eventstore.Position]int, len(batch)), slots: make([]decoded, len(batch))}
	for i, e := range batch {
		if !wanted(e) {
			continue
		}
		d.at[e.Position] = i
		d.slots[i].ev, d.slots[i].err = domain.DecodeEvent(e.Type, e.Data)
	}
	return d
}

// WithDecoded returns ctx carrying bodies, the events evs decoded (nil
// where not), for ApplyBatch: a consumer that decoded the events to check
// them hands them over, and the projector does not decode them again.
// The projectors only read them.
func WithDecoded(ctx context.Context, evs []eventstore.RecordedEvent, bodies []domain.Event) context.Context {
	if !slices.ContainsFunc(bodies, func(b domain.Event) bool { return b != nil }) {
		return ctx // nothing to hand over (one at a time, a failed batch's retry)
	}
	d := &decodedBatch{at: make(map[eventstore.Position]int, len(evs)), slots: make([]decoded, len(evs))}
	for i, e := range evs {
		if bodies[i] != nil {
			d.at[e.Position] = i
			d.slots[i].ev = bodies[i]
		}
	}
	return withDecoded(ctx, d)
}

type decodedKey struct{}

// withDecoded makes decodeEvent use d for the events of its batch.
func withDecoded(ctx context.Context, d *decodedBatch) context.Context {
	return context.WithValue(ctx, decodedKey{}, d)
}

// decodedIn returns e decoded, if the batch in ctx holds it.
func decodedIn(ctx context.Context, e eventstore.RecordedEvent) (decoded, bool) {
	if d, ok := ctx.Value(decodedKey{}).(*decodedBatch); ok {
		if i, ok := d.at[e.Position]; ok {
			return d.slots[i], true
		}
	}
	return decoded{}, false
}

// decodeEvent decodes e, or takes it from the batch in ctx when e is one
// of its events.
func decodeEvent(ctx context.Context, e eventstore.RecordedEvent) (domain.Event, error) {
	if d, ok := decodedIn(ctx, e); ok {
		return d.ev, d.err
	}
	return domain.DecodeEvent(e.Type, e.Data)
}
