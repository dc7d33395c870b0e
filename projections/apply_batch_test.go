package projections_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
	"github.com/edusmarthub/edusmarthub/projections"
)

// ApplyBatch is what the Kafka consumer calls with a partition's backlog:
// batches of a partition, in order, several partitions at once, and a
// redelivery of everything; the tables end as with one event at a time.
// A batch with an event that cannot apply fails; applying its events
// again one by one, as the consumer then does, applies each once and
// fails only that one.
func TestApplyBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ledger{name: "in_order"}, ledger{name: "batched"}, ledger{name: "failing", failOn: "Teacher 2"})
	for range 3 {
		e.school(6)
	}
	log := e.log()
	e.apply(e.reg, "in_order", log)
	want := e.sums(e.reg, "in_order")

	const partitions = 4
	parts := make([][]eventstore.RecordedEvent, partitions+1)
	for _, ev := range log {
		p := int(crc(ev.StreamID) % partitions)
		parts[p] = append(parts[p], ev)
	}
	parts[partitions] = shuffled(log, 3)
	var wg sync.WaitGroup
	errs := make(chan error, len(parts)*len(log))
	for _, part := range parts {
		wg.Go(func() {
			for i := 0; i < len(part); i += 5 {
				errs <- e.reg.ApplyBatch(context.Background(), "batched", part[i:min(i+5, len(part))])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.sums(e.reg, "batched"); !maps.Equal(got, want) {
		t.Errorf("batched %v, in order %v", got, want)
	}
	if got, want := e.applied("batched"), e.applied("in_order"); !maps.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}

	err := e.reg.ApplyBatch(context.Background(), "failing", log)
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("batch with a failing event: %v", err)
	}
	failed := 0
	for _, ev := range log {
		if err := e.reg.Apply(context.Background(), "failing", ev); err != nil {
			failed++
		}
	}
	// Each school's Teacher 2 stream: its creation and what follows it.
	if got, want := e.applied("failing"), e.applied("in_order"); len(got) != len(want)-3 || failed == 0 {
		t.Errorf("%d streams applied (want all but 3), %d events failed", len(got), failed)
	}

	if err := e.reg.ApplyBatch(context.Background(), "batched", []eventstore.RecordedEvent{log[0], {Type: domain.SchoolRegisteredType}}); !errors.Is(err, projections.ErrInvalidEvent) {
		t.Errorf("a batch with an event without stream: %v", err)
	}
}

// ApplyBatch hands the projector the bodies a consumer decoded to check
// the events (WithDecoded) instead of decoding the events again: here the
// handed body's name, not the stored one, reaches the read model.
func TestApplyBatchUsesTheBodiesHandedOver(t *testing.T) {
	t.Parallel()
	schools := projections.All()[0]
	e := newEnv(t, schools)
	e.school(0)
	var reg eventstore.RecordedEvent
	for _, ev := range e.log() {
		if ev.Type == domain.SchoolRegisteredType {
			reg = ev
		}
	}
	body, err := domain.DecodeEvent(reg.Type, reg.Data)
	if err != nil {
		t.Fatal(err)
	}
	handed := body.(domain.SchoolRegistered)
	handed.Name = "Handed Over High"
	ctx := projections.WithDecoded(context.Background(), []eventstore.RecordedEvent{reg}, []domain.Event{handed})
	if err := e.reg.ApplyBatch(ctx, schools.Name(), []eventstore.RecordedEvent{reg}); err != nil {
		t.Fatal(err)
	}
	if rows := e.rows(schools.Name(), "schools"); len(rows) != 1 || !strings.Contains(rows[0], "Handed Over High") {
		t.Errorf("schools %v, want the handed-over name", rows)
	}
}
