package commands_test

import (
	"context"
	"errors"
	"slices"
	"sync"
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

// rivalStore stands for another process writing the same stream: before
// each of the first n appends to the stream it watches, rival appends an
// event of its own there, so the append that follows conflicts. It
// records where each read of that stream started and how the appends to
// it ended.
type rivalStore struct {
	eventstore.Store
	stream string
	n      int
	rival  func(i int) // the i-th rival append (0, 1, ...)
	// appended, when set, is called after the i-th append to the stream.
	appended func(i int)

	mu        sync.Mutex
	readAfter []eventstore.Version
	appends   []error
}

func (s *rivalStore) ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	if stream == s.stream {
		s.mu.Lock()
		s.readAfter = append(s.readAfter, after)
		s.mu.Unlock()
	}
	return s.Store.ReadStream(ctx, stream, after, limit)
}

func (s *rivalStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if stream != s.stream {
		return s.Store.Append(ctx, stream, expected, events)
	}
	s.mu.Lock()
	i := len(s.appends)
	s.mu.Unlock()
	if i < s.n {
		s.rival(i)
	}
	res, err := s.Store.Append(ctx, stream, expected, events)
	s.mu.Lock()
	s.appends = append(s.appends, err)
	s.mu.Unlock()
	if s.appended != nil {
		s.appended(i)
	}
	return res, err
}

func (s *rivalStore) conflicts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, err := range s.appends {
		if errors.Is(err, eventstore.ErrVersionConflict) {
			n++
		}
	}
	return n
}

// retryScene is a student with a performance record of one grade, the
// command recording another, and a rival process (its own repository
// over the same store) that records grades of its own.
type retryScene struct {
	f       *fixture
	student string
	stream  string
	store   *rivalStore
	repo    *commands.Repository
	rivalH  commands.RecordPerformanceHandler
	cmd     commands.RecordPerformance
}

func newRetryScene(t *testing.T) *retryScene {
	f := newFixture(t)
	s := &retryScene{f: f, student: f.student("Tom", 5, "polly@example.org")}
	s.stream = "performance-" + s.student
	s.rivalH = commands.NewRecordPerformanceHandler(f.repo)
	if _, err := s.rivalH.Handle(context.Background(), f.admin(), s.grade()); err != nil {
		t.Fatal(err)
	}
	s.store = &rivalStore{Store: f.store, stream: s.stream}
	s.store.rival = func(int) {
		if _, err := s.rivalH.Handle(context.Background(), f.admin(), s.grade()); err != nil {
			t.Errorf("rival: %v", err)
		}
	}
	s.repo = commands.NewRepository(s.store, func() time.Time { return f.now })
	s.cmd = s.grade()
	return s
}

func (s *retryScene) grade() commands.RecordPerformance {
	return commands.RecordPerformance{StudentID: s.student, AssessmentID: uuid.NewString(), Subject: "mathematics",
		Grade: 64, AssessmentType: "quiz", AssessedAt: s.f.now.Add(-time.Hour)}
}

func (s *retryScene) handle(ctx context.Context, m commands.Meta) (commands.Result, error) {
	return commands.NewRecordPerformanceHandler(s.repo).Handle(ctx, m, s.cmd)
}

// A command without If-Match outlasts more conflicts than the five
// immediate attempts it used to have, and every retry reads only the
// events appended since its last read.
func TestUpdateRetriesConflictsReadingOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	s := newRetryScene(t)
	s.store.n = 8
	res, err := s.handle(context.Background(), s.f.admin())
	if err != nil {
		t.Fatalf("after %d conflicts: %v", s.store.conflicts(), err)
	}
	if got := s.store.conflicts(); got != 8 {
		t.Errorf("%d conflicts, want 8", got)
	}
	// 1 grade before, 8 of the rival's, then ours.
	if res.Version != 10 {
		t.Errorf("result version %d, want 10", res.Version)
	}
	want := []eventstore.Version{0, 1, 2, 3, 4, 5, 6, 7, 8}
	if !slices.Equal(s.store.readAfter, want) {
		t.Errorf("reads of the stream started after versions %v, want %v (the whole stream, then what each conflict added)", s.store.readAfter, want)
	}
	p, _, err := commands.Load(context.Background(), s.f.repo, domain.NewPerformance(s.student))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Assessments()) != 10 {
		t.Errorf("%d assessments, want 10", len(p.Assessments()))
	}
	if _, ok := p.Assessment(s.cmd.AssessmentID); !ok {
		t.Error("the command's assessment is not on the record")
	}
}

// A retry decides on the stream as it now is: when the rival recorded
// the very assessment meanwhile, the retry refuses the duplicate.
func TestUpdateRetryDecidesOnWhatTheRivalAppended(t *testing.T) {
	t.Parallel()
	s := newRetryScene(t)
	s.store.n = 3
	s.store.rival = func(i int) {
		cmd := s.grade()
		if i == 2 {
			cmd = s.cmd
		}
		if _, err := s.rivalH.Handle(context.Background(), s.f.admin(), cmd); err != nil {
			t.Errorf("rival: %v", err)
		}
	}
	_, err := s.handle(context.Background(), s.f.admin())
	expectErr(t, err, domain.KindConflict, "assessmentId", domain.ErrAssessmentExists)
	if got := len(s.f.events(s.stream)); got != 4 {
		t.Errorf("%d events on the record, want 4 (1 before, 3 of the rival's)", got)
	}
}

// With If-Match a stream at another version is a conflict at once: not
// retried, whether the version was wrong from the start or became wrong
// between the read and the append.
func TestUpdateWithIfMatchIsNeverRetried(t *testing.T) {
	t.Parallel()
	s := newRetryScene(t)
	s.store.n = 1
	m := s.f.admin()
	v := uint64(1)
	m.ExpectedVersion = &v
	_, err := s.handle(context.Background(), m)
	if !errors.Is(err, eventstore.ErrVersionConflict) {
		t.Fatalf("err = %v, want a version conflict", err)
	}
	if len(s.store.appends) != 1 || len(s.store.readAfter) != 1 {
		t.Errorf("%d appends and %d reads, want 1 each", len(s.store.appends), len(s.store.readAfter))
	}

	stale := uint64(1) // the stream is at 2 now
	m.ExpectedVersion = &stale
	s.store.readAfter, s.store.appends = nil, nil
	_, err = s.handle(context.Background(), m)
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("err = %v, want a conflict naming version 2", err)
	}
	if len(s.store.appends) != 0 {
		t.Errorf("%d appends after a stale If-Match, want none", len(s.store.appends))
	}
}

// The attempts are bounded, and the caller's context ends them sooner.
func TestUpdateGivesUp(t *testing.T) {
	t.Parallel()
	t.Run("after the last attempt", func(t *testing.T) {
		t.Parallel()
		s := newRetryScene(t)
		s.store.n = 1000
		_, err := s.handle(context.Background(), s.f.admin())
		if !errors.Is(err, commands.ErrConcurrentUpdate) || !errors.Is(err, eventstore.ErrVersionConflict) {
			t.Fatalf("err = %v, want a concurrent update", err)
		}
		if got := len(s.store.appends); got != commands.MaxAttempts {
			t.Errorf("%d appends, want %d", got, commands.MaxAttempts)
		}
		if got := commands.OutcomeOf(err); got != commands.OutcomeConflict {
			t.Errorf("outcome %s, want conflict", got)
		}
	})
	t.Run("when the context ends", func(t *testing.T) {
		t.Parallel()
		s := newRetryScene(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.store.n = 1000
		s.store.appended = func(i int) {
			if i == 2 {
				cancel()
			}
		}
		_, err := s.handle(ctx, s.f.admin())
		if !errors.Is(err, commands.ErrConcurrentUpdate) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a concurrent update ended by the context", err)
		}
		if got := len(s.store.appends); got != 3 {
			t.Errorf("%d appends, want 3 (none after the context ended)", got)
		}
	})
}

// One repository runs the Updates of a stream one at a time: commands
// racing for one stream queue instead of conflicting.
func TestUpdatesOfAStreamTakeTurns(t *testing.T) {
	t.Parallel()
	s := newRetryScene(t)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := commands.NewRecordPerformanceHandler(s.repo).Handle(context.Background(), s.f.admin(), s.grade())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := s.store.conflicts(); got != 0 {
		t.Errorf("%d version conflicts among one repository's commands, want none", got)
	}
	if got := len(s.f.events(s.stream)); got != n+1 {
		t.Errorf("%d events, want %d", got, n+1)
	}
}

// afterStore records where the reads of each stream started.
type afterStore struct {
	eventstore.Store
	mu    sync.Mutex
	after map[string][]eventstore.Version
}

func (s *afterStore) ReadStream(ctx context.Context, stream string, after eventstore.Version, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	s.after[stream] = append(s.after[stream], after)
	s.mu.Unlock()
	return s.Store.ReadStream(ctx, stream, after, limit)
}

func (s *afterStore) reads(stream string) []eventstore.Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.after[stream]
	s.after[stream] = nil
	return out
}

// A repository reads a stream whole once; later loads and commands read
// only what was appended since, whoever appended it, and decide on all
// of it: an assessment another process recorded meanwhile is refused as a
// duplicate.
func TestRepositoryReadsOnlyWhatIsNewOfAStream(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tom := f.student("Tom", 5, "polly@example.org")
	stream := "performance-" + tom
	store := &afterStore{Store: f.store, after: map[string][]eventstore.Version{}}
	repo := commands.NewRepository(store, func() time.Time { return f.now })
	ours := commands.NewRecordPerformanceHandler(repo)
	theirs := commands.NewRecordPerformanceHandler(f.repo) // another process
	ctx := context.Background()
	grade := func() commands.RecordPerformance {
		return commands.RecordPerformance{StudentID: tom, AssessmentID: uuid.NewString(), Subject: "mathematics",
			Grade: 55, AssessmentType: "quiz", AssessedAt: f.now.Add(-time.Hour)}
	}
	record := func(h commands.RecordPerformanceHandler, cmd commands.RecordPerformance) {
		t.Helper()
		if _, err := h.Handle(ctx, f.admin(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	expectReads := func(want ...eventstore.Version) {
		t.Helper()
		if got := store.reads(stream); !slices.Equal(got, want) {
			t.Fatalf("reads of the record started after versions %v, want %v", got, want)
		}
	}
	assessments := func() int {
		t.Helper()
		p, _, err := commands.Load(ctx, repo, domain.NewPerformance(tom))
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Assessments())
	}

	record(theirs, grade())
	record(theirs, grade())
	record(ours, grade()) // reads the record whole, appends version 3
	expectReads(0)
	record(ours, grade()) // reads its own version 3 back, appends 4
	expectReads(2)
	if n := assessments(); n != 4 {
		t.Fatalf("%d assessments, want 4", n)
	}
	expectReads(3)

	dup := grade()
	record(theirs, grade())
	record(theirs, dup)
	_, err := ours.Handle(ctx, f.admin(), dup)
	expectErr(t, err, domain.KindConflict, "assessmentId", domain.ErrAssessmentExists)
	expectReads(4)
	if n := assessments(); n != 6 {
		t.Fatalf("%d assessments, want 6", n)
	}
	expectReads(6)

	// The student's stream is read the same way. (Its events hold slices,
	// so they are decoded for each load rather than shared between
	// aggregates: TestShareableEvent.)
	s1, _, err := commands.Load(ctx, repo, domain.NewStudent(tom))
	if err != nil {
		t.Fatal(err)
	}
	s2, _, err := commands.Load(ctx, repo, domain.NewStudent(tom))
	if err != nil {
		t.Fatal(err)
	}
	if got := store.reads("student-" + tom); len(got) < 2 || got[len(got)-1] == 0 {
		t.Errorf("student reads started after %v, want the last after its version", got)
	}
	if s1.Version() != s2.Version() || s1.Name() != s2.Name() {
		t.Errorf("two loads: v%d %q and v%d %q", s1.Version(), s1.Name(), s2.Version(), s2.Name())
	}
}
