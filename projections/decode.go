package projections

import (
	"context"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// decodedBatch is a batch of the log decoded once for every projection a
// rebuild applies it to: each projector would otherwise decode the same
// JSON again, and decoding is most of a rebuild's own CPU. A rebuild
// decodes each batch in a stage of its own (decodeBatch), beside the next
// read, before handing it out; the projections then only read it.
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

type decodedKey struct{}

// withDecoded makes decodeEvent use d for the events of its batch.
func withDecoded(ctx context.Context, d *decodedBatch) context.Context {
	return context.WithValue(ctx, decodedKey{}, d)
}

// decodeEvent decodes e, or takes it from the batch in ctx when e is one
// of its events.
func decodeEvent(ctx context.Context, e eventstore.RecordedEvent) (domain.Event, error) {
	if d, ok := ctx.Value(decodedKey{}).(*decodedBatch); ok {
		if i, ok := d.at[e.Position]; ok {
			return d.slots[i].ev, d.slots[i].err
		}
	}
	return domain.DecodeEvent(e.Type, e.Data)
}
