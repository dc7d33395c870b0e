package commands_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// countingStore counts the stream reads that reach the store.
type countingStore struct {
	eventstore.Store
	reads atomic.Int64
}

func (s *countingStore) ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	s.reads.Add(1)
	return s.Store.ReadStream(ctx, stream, after, limit)
}

func TestReadCacheReadsAStreamOnceUntilACommandAppendsToIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	store := &countingStore{Store: f.store}
	repo := commands.NewRepository(store, func() time.Time { return f.now })
	load := func(ctx context.Context) *domain.Student {
		t.Helper()
		s, _, err := commands.Load(ctx, repo, domain.NewStudent(sc.S1))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	reads := func(want int64) {
		t.Helper()
		if got := store.reads.Swap(0); got != want {
			t.Fatalf("%d reads of the store, want %d", got, want)
		}
	}

	ctx := commands.WithReadCache(context.Background())
	load(ctx)
	load(ctx)
	reads(1)

	// A command run in the context reads its target afresh before it
	// appends (whatever the cache holds), and later loads see what it
	// appended.
	if _, err := commands.NewWithdrawStudentHandler(repo).Handle(ctx, f.admin(), commands.WithdrawStudent{StudentID: sc.S1, Reason: "moved away"}); err != nil {
		t.Fatal(err)
	}
	if load(ctx).Active() {
		t.Fatal("the load after the command does not see the withdrawal")
	}
	store.reads.Store(0)
	load(ctx)
	reads(0)

	// Another context has a cache of its own; none, no cache.
	load(commands.WithReadCache(context.Background()))
	reads(1)
	load(context.Background())
	load(context.Background())
	reads(2)
}

func TestCreateIsUpdateForANewStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := f.scene()
	store := &countingStore{Store: f.store}
	repo := commands.NewRepository(store, func() time.Time { return f.now })
	h := commands.NewSendMessageHandler(repo)
	ctx := context.Background()
	m := f.admin()
	m.CommandID = uuid.NewString()
	cmd := commands.SendMessage{MessageID: uuid.NewString(), Subject: "Trip", Body: "Bring a coat.",
		Recipients: []domain.RecipientInput{{Kind: "guardian", ID: sc.G1}}}

	first, err := h.Handle(ctx, m, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if got := store.reads.Swap(0); got != 0 {
		t.Errorf("a new message read %d streams, want none", got)
	}
	// The same command again (a retry, a redelivery): the first result,
	// nothing appended.
	again, err := h.Handle(ctx, m, cmd)
	if err != nil || again != first {
		t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
	}
	f.expectEvents(t, first.Stream, domain.MessageSentType)

	// Another command for the taken ID is decided on what is stored.
	m.CommandID = uuid.NewString()
	_, err = h.Handle(ctx, m, cmd)
	expectErr(t, err, domain.KindConflict, "", domain.ErrMessageAlreadySent)
	f.expectEvents(t, first.Stream, domain.MessageSentType)
}
