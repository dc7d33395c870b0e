package sagas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/domain"
	"github.com/edusmarthub/edusmarthub/eventstore"
)

// Clock is what the runtime reads the time from: SystemClock in serve, a
// settable one in tests (sagas/sagatest.Clock). The commands repository
// the sagas use should read the same clock.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// Config configures a Runtime.
type Config struct {
	// Pool holds the saga tables (required).
	Pool *pgxpool.Pool
	// Clock is the time instances see and deadlines are due by (default
	// SystemClock).
	Clock Clock
	// Logger gets deadline failures (default: none).
	Logger *slog.Logger
	// Registerer, when set, gets the runtime's metrics.
	Registerer prometheus.Registerer
	// Tick is how often RunDeadlines looks for due deadlines (default 1s).
	Tick time.Duration
	// Concurrency bounds the events and deadlines handled at once
	// (default: half the pool's connections, at least 1). Each holds a
	// connection for its transaction while the saga issues commands and
	// reads through the same pool, so the other half keeps a handling
	// from ever waiting on itself.
	Concurrency int
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.Concurrency == 0 && c.Pool != nil {
		c.Concurrency = max(1, int(c.Pool.Config().MaxConns)/2)
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Pool == nil {
		errs = append(errs, errors.New("sagas: Config.Pool is required"))
	}
	if c.Tick < 0 {
		errs = append(errs, fmt.Errorf("sagas: Config.Tick must be positive, not %s", c.Tick))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("sagas: Config.Concurrency must be positive, not %d", c.Concurrency))
	}
	return errors.Join(errs...)
}

// ErrUnknownSaga is matched by the error of Handle for a saga the runtime
// does not run: permanent.
var ErrUnknownSaga = errors.New("sagas: unknown saga")

// ErrInvalidEvent is matched by the error of Handle for an event that can
// never be handled (its body does not decode): permanent, the caller
// should dead-letter it.
var ErrInvalidEvent = errors.New("sagas: invalid event")

// Deadline retries: a saga whose Deadline fails with an error that is no
// domain error (the database, a read) is tried again after a backoff that
// doubles, up to maxDeadlineAttempts; then the instance fails with the
// error as the reason, so nothing waits forever unexplained.
const (
	maxDeadlineAttempts = 8
	deadlineBackoff     = 10 * time.Second
	maxDeadlineBackoff  = time.Hour
)

// Runtime runs sagas: it hands them events (Handle) and due deadlines
// (FireDue), and persists their instances, in one transaction per event
// or deadline. Safe for concurrent use, also by several processes on one
// database.
type Runtime struct {
	cfg     Config
	sagas   []Saga
	byName  map[string]Saga
	names   []string
	slots   chan struct{}
	metrics *runtimeMetrics
}

var validSagaName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// NewRuntime returns a runtime of sagas over cfg.Pool. Names must be
// unique lower-case identifiers.
func NewRuntime(cfg Config, sagas ...Saga) (*Runtime, error) {
	cfg.setDefaults()
	errs := []error{cfg.Validate()}
	r := &Runtime{cfg: cfg, byName: map[string]Saga{}}
	for i, s := range sagas {
		if s == nil {
			errs = append(errs, fmt.Errorf("sagas: saga %d is nil", i))
			continue
		}
		name := s.Name()
		switch {
		case !validSagaName.MatchString(name):
			errs = append(errs, fmt.Errorf("sagas: name %q: want a lower-case identifier ([a-z][a-z0-9_]*)", name))
			continue
		case r.byName[name] != nil:
			errs = append(errs, fmt.Errorf("sagas: saga %q registered twice", name))
			continue
		case len(s.Channels()) == 0:
			errs = append(errs, fmt.Errorf("sagas: saga %q consumes no channel", name))
		}
		r.sagas = append(r.sagas, s)
		r.byName[name] = s
		r.names = append(r.names, name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.slots = make(chan struct{}, cfg.Concurrency)
	m, err := newRuntimeMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// Sagas returns the sagas, in the order given.
func (r *Runtime) Sagas() []Saga { return append([]Saga(nil), r.sagas...) }

// now is the clock's time as stored (see dbTime).
func (r *Runtime) now() time.Time { return dbTime(r.cfg.Clock.Now()) }

func (r *Runtime) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runtime) release() { <-r.slots }

// Handle hands an event to the saga called saga, once: an event it has
// processed before (a redelivery, a retry after a crash) changes nothing.
// It returns after the transaction that records the outcome committed.
//
// A domain error from the saga fails the instance with the error as its
// reason (committed: the event is processed). Any other error rolls
// everything back and is returned, to be retried; so is a database
// failure. ErrUnknownSaga and ErrInvalidEvent are permanent.
func (r *Runtime) Handle(ctx context.Context, saga string, e eventstore.RecordedEvent) error {
	s, ok := r.byName[saga]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownSaga, saga)
	}
	t, err := NewTrigger(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	route, ok := s.Correlate(t)
	if !ok {
		return nil // not its concern: nothing to record
	}
	if route.ID == "" && route.Key == "" {
		return fmt.Errorf("saga %s: event %s (%s) routed to neither an ID nor a key", saga, e.ID, e.Type)
	}
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	start := time.Now()
	outcome, err := r.handle(ctx, s, t, route)
	r.metrics.handled(saga, outcome, time.Since(start))
	if err != nil {
		return fmt.Errorf("saga %s: event %s (%s, %s version %d): %w", saga, e.ID, e.Type, e.StreamID, e.Version, err)
	}
	return nil
}

func (r *Runtime) handle(ctx context.Context, s Saga, t Trigger, route Route) (outcome string, err error) {
	name := s.Name()
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return outcomeError, err
	}
	defer func() { err = rollback(ctx, tx, err) }()
	now := r.now()
	first, err := markProcessed(ctx, tx, name, t.ID, t.Type, now)
	if err != nil {
		return outcomeError, err
	}
	if !first {
		return outcomeDuplicate, nil
	}

	l, found, created, err := r.findInstance(ctx, tx, name, t, route, now)
	if err != nil {
		return outcomeError, err
	}
	var b pgx.Batch
	if !found || l.state.Finished() {
		var id *string
		if found {
			id = &l.in.id
		}
		queueProcessedOutcome(&b, name, t.ID, id, outcomeIgnored)
		return outcomeIgnored, commit(ctx, tx, &b)
	}

	in := l.in
	in.isNew = created
	in.now = now
	in.trigger = "event:" + t.ID.String()
	in.cause, in.corr = t.ID.String(), t.Metadata.CorrelationID
	if in.corr == "" {
		in.corr = in.cause
	}
	in.event, in.trType = t.ID.String(), t.Type
	if created {
		in.key = route.Key
	}

	outcome = outcomeHandled
	if herr := s.Handle(ctx, in, t); herr != nil {
		if domain.KindOf(herr) == 0 {
			return outcomeError, herr
		}
		in.Fail("failed", herr.Error())
		outcome = outcomeFailed
	}
	queueWrite(&b, l, now, nil)
	queueProcessedOutcome(&b, name, t.ID, &in.id, outcome)
	if err := commit(ctx, tx, &b); err != nil {
		return outcomeError, err
	}
	if created {
		r.metrics.instance(name, StateRunning)
	}
	if in.state != l.state {
		r.metrics.instance(name, in.state)
	}
	return outcome, nil
}

// findInstance finds and locks the instance route names, creating it when
// the route may start one.
func (r *Runtime) findInstance(ctx context.Context, tx pgx.Tx, saga string, t Trigger, route Route, now time.Time) (l loaded, found, created bool, err error) {
	// By ID first; then, with a key, the running instance that has it (an
	// event that would start a new instance joins the one already going).
	lookup := func() (loaded, bool, error) {
		if route.ID != "" {
			l, found, err := lockInstanceByID(ctx, tx, saga, route.ID)
			if err != nil || found || route.Key == "" {
				return l, found, err
			}
		}
		return lockInstanceByKey(ctx, tx, saga, route.Key)
	}
	l, found, err = lookup()
	if err != nil || found || !route.Start {
		return l, found, false, err
	}
	id := route.ID
	if id == "" {
		// Started by key alone: the starting event names it, so a
		// redelivery before the commit starts the same instance.
		id = t.ID.String()
	}
	created, err = insertInstance(ctx, tx, saga, id, route.Key, t.Metadata.SchoolID, now)
	if err != nil {
		return l, false, false, err
	}
	if !created {
		// Someone else started it meanwhile: theirs is committed now.
		l, found, err = lookup()
		if err == nil && !found {
			err = fmt.Errorf("cannot start instance %q: another running instance has key %q", id, route.Key)
		}
		return l, found, false, err
	}
	l, found, err = lockInstanceByID(ctx, tx, saga, id)
	if err == nil && !found {
		err = fmt.Errorf("instance %q vanished after its creation", id)
	}
	return l, found, true, err
}

// FireDue fires every deadline due by the clock's time, each once, in a
// transaction of its own, and returns how many fired. A deadline whose
// saga fails with an error that is no domain error is tried again later
// (its error is in the returned one); the others still fire.
func (r *Runtime) FireDue(ctx context.Context) (int, error) {
	if len(r.names) == 0 {
		return 0, nil
	}
	var (
		fired int
		errs  []error
	)
	for {
		if err := ctx.Err(); err != nil {
			return fired, errors.Join(append(errs, err)...)
		}
		ok, more, err := r.fireNext(ctx)
		if err != nil {
			var de *deadlineError
			if !errors.As(err, &de) {
				return fired, errors.Join(append(errs, err)...) // the database: stop here
			}
			r.cfg.Logger.Warn("a saga deadline failed; it will be tried again", "err", err)
			errs = append(errs, err)
		}
		if ok {
			fired++
		}
		if !more {
			return fired, errors.Join(errs...)
		}
	}
}

// deadlineError is a saga's failure to handle a deadline, recorded on
// the deadline for a later attempt.
type deadlineError struct{ err error }

func (e *deadlineError) Error() string { return e.err.Error() }
func (e *deadlineError) Unwrap() error { return e.err }

// fireNext fires the next due deadline. more is false when none was due.
func (r *Runtime) fireNext(ctx context.Context) (fired, more bool, err error) {
	if err := r.acquire(ctx); err != nil {
		return false, false, err
	}
	defer r.release()
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return false, false, err
	}
	defer func() { err = rollback(ctx, tx, err) }()
	now := r.now()
	saga, id, ok, err := nextDueInstance(ctx, tx, r.names, now)
	if err != nil || !ok {
		return false, false, err
	}
	l, found, err := lockInstanceByID(ctx, tx, saga, id)
	if err != nil || !found {
		return false, true, err
	}
	d, ok, err := lockDueDeadline(ctx, tx, saga, id, now)
	if err != nil || !ok {
		return false, true, err // fired or moved meanwhile: look again
	}
	var b pgx.Batch
	if l.state.Finished() {
		// Cannot happen through the runtime (finishing cancels), but a
		// timer of a finished instance must not fire.
		b.Queue(`UPDATE saga_deadlines SET cancelled_at = $2 WHERE id = $1`, d.id, now)
		return false, true, commit(ctx, tx, &b)
	}
	s := r.byName[saga]
	in := l.in
	in.now = now
	in.trigger = fmt.Sprintf("deadline:%s@%s", d.name, d.due.Format(time.RFC3339Nano))
	in.corr = in.WorkflowID()
	in.trType = "deadline:" + d.name

	start := time.Now()
	outcome := outcomeHandled
	if herr := s.Deadline(ctx, in, Deadline{Name: d.name, Due: d.due, Payload: d.payload}); herr != nil {
		if domain.KindOf(herr) == 0 {
			r.metrics.deadline(saga, outcomeError, time.Since(start))
			return false, true, r.deferDeadline(ctx, tx, l, d, herr, now)
		}
		in.Fail("failed", herr.Error())
		outcome = outcomeFailed
	}
	queueWrite(&b, l, now, &d.id)
	if err := commit(ctx, tx, &b); err != nil {
		return false, true, err
	}
	r.metrics.deadline(saga, outcome, time.Since(start))
	if in.state != l.state {
		r.metrics.instance(saga, in.state)
	}
	return true, true, nil
}

// deferDeadline undoes what the saga did for d (a rollback to a savepoint
// would need the saga's work inside it: simpler to start over), records
// the failed attempt, and after the last one fails the instance.
func (r *Runtime) deferDeadline(ctx context.Context, tx pgx.Tx, l loaded, d dueDeadline, cause error, now time.Time) error {
	if err := tx.Rollback(ctx); err != nil {
		return err
	}
	cause = fmt.Errorf("saga %s instance %s: deadline %s due %s: %w", d.saga, d.instance, d.name, d.due.Format(time.RFC3339), cause)
	return r.inTx(ctx, func(tx pgx.Tx) error {
		l2, found, err := lockInstanceByID(ctx, tx, d.saga, d.instance)
		if err != nil || !found {
			return err
		}
		attempts := d.attempts + 1
		if attempts < maxDeadlineAttempts {
			backoff := min(deadlineBackoff<<(attempts-1), maxDeadlineBackoff)
			if err := deferDeadline(ctx, tx, d.id, now.Add(backoff), cause); err != nil {
				return err
			}
			return &deadlineError{cause}
		}
		in := l2.in
		in.now = now
		in.trType = "deadline:" + d.name
		in.Fail("failed", fmt.Sprintf("deadline %s could not be handled after %d attempts: %v", d.name, attempts, cause))
		if err := deferDeadline(ctx, tx, d.id, now, cause); err != nil {
			return err
		}
		var b pgx.Batch
		queueWrite(&b, l2, now, &d.id)
		if err := sendBatch(ctx, tx, &b); err != nil {
			return err
		}
		r.metrics.instance(d.saga, StateFailed)
		return nil
	})
}

// inTx runs fn in a transaction, committed when fn returns nil or a
// *deadlineError (whose bookkeeping is to be kept).
func (r *Runtime) inTx(ctx context.Context, fn func(pgx.Tx) error) (err error) {
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { err = rollback(ctx, tx, err) }()
	ferr := fn(tx)
	var de *deadlineError
	if ferr != nil && !errors.As(ferr, &de) {
		return ferr
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return ferr
}

// RunDeadlines fires due deadlines every Tick until ctx is done; failures
// are logged and tried again at a later tick. It returns nil when ctx
// ends.
func (r *Runtime) RunDeadlines(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := r.FireDue(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Error("firing saga deadlines failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// commit sends b and commits tx.
func commit(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if err := sendBatch(ctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends tx if it is still open, keeping err and adding a rollback
// failure to it.
func rollback(ctx context.Context, tx pgx.Tx, err error) error {
	if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
		return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
	}
	return err
}

// runtimeMetrics are the runtime's metrics; nil-safe.
type runtimeMetrics struct {
	events    *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
	deadlines *prometheus.CounterVec
	instances *prometheus.CounterVec
}

func newRuntimeMetrics(reg prometheus.Registerer) (*runtimeMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &runtimeMetrics{}
	var err error
	// Registered again by a runtime restarted in the same process (tests):
	// the existing collectors are reused.
	if m.events, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_events_total",
		Help: "Events handed to a saga, by outcome (handled, failed: the instance failed on it, ignored, duplicate, error: rolled back to be retried).",
	}, []string{"saga", "outcome"})); err != nil {
		return nil, err
	}
	if m.seconds, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edusmarthub_saga_handle_seconds",
		Help:    "Time to handle one event or deadline of a saga, from its transaction's start to its commit (the commands it issued included).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"saga"})); err != nil {
		return nil, err
	}
	if m.deadlines, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_deadlines_total",
		Help: "Deadlines fired, by outcome (handled, failed: the instance failed on it, error: to be tried again).",
	}, []string{"saga", "outcome"})); err != nil {
		return nil, err
	}
	if m.instances, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edusmarthub_saga_instances_total",
		Help: "Saga instances that reached a state: running (started), completed, failed. Running now: the running count minus the completed and failed ones (summed over replicas).",
	}, []string{"saga", "state"})); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("sagas: metrics: %w", err)
	}
	return c, nil
}

func (m *runtimeMetrics) handled(saga, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(saga, outcome).Inc()
	if outcome != outcomeDuplicate {
		m.seconds.WithLabelValues(saga).Observe(took.Seconds())
	}
}

func (m *runtimeMetrics) deadline(saga, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.deadlines.WithLabelValues(saga, outcome).Inc()
	m.seconds.WithLabelValues(saga).Observe(took.Seconds())
}

func (m *runtimeMetrics) instance(saga string, s State) {
	if m == nil {
		return
	}
	m.instances.WithLabelValues(saga, string(s)).Inc()
}
