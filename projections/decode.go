package projections

import (
	"context"
	"sync"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// decodedBatch decodes a batch of the log once for every projection a
// rebuild applies it to: each projector would otherwise decode the same
// JSON again, and decoding is most of a rebuild's own CPU. A rebuild
// decodes each batch in a stage of its own (decodeAll), beside the next
// read, before handing it out.
type decodedBatch struct {
	at    map[eventstore.Position]int // an event's index in the batch
	slots []decodeSlot
}

type decodeSlot struct {
	once sync.Once
	ev   domain.Event
	err  error
}

func newDecodedBatch(batch []eventstore.RecordedEvent) *decodedBatch {
	d := &decodedBatch{at: make(map[eventstore.Position]int, len(batch)), slots: make([]decodeSlot, len(batch))}
	for i, e := range batch {
		d.at[e.Position] = i
	}
	return d
}

// decodeAll decodes every event of the batch now.
func (d *decodedBatch) decodeAll(batch []eventstore.RecordedEvent) {
	for i, e := range batch {
		s := &d.slots[i]
		s.once.Do(func() { s.ev, s.err = domain.DecodeEvent(e.Type, e.Data) })
	}
}

type decodedKey struct{}

// withDecoded makes decodeEvent use d for the events of its batch.
func withDecoded(ctx context.Context, d *decodedBatch) context.Context {
	return context.WithValue(ctx, decodedKey{}, d)
}

// decodeEvent decodes e, through the batch in ctx when e is one of its
// events.
func decodeEvent(ctx context.Context, e eventstore.RecordedEvent) (domain.Event, error) {
	if d, ok := ctx.Value(decodedKey{}).(*decodedBatch); ok {
		if i, ok := d.at[e.Position]; ok {
			s := &d.slots[i]
			s.once.Do(func() { s.ev, s.err = domain.DecodeEvent(e.Type, e.Data) })
			return s.ev, s.err
		}
	}
	return domain.DecodeEvent(e.Type, e.Data)
}
